"""The office side of site agents (issue #14): results that agents publish over MQTT, ingested into the same
pipeline as the office's own polls. docs/agents-office.md has the rules."""

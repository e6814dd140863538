"""The site agent (`netmon agent`, issue #14): polls a site's devices where they are and sends every result out
to the office's MQTT broker through a durable outbox. docs/agent.md."""

"""What each exported family means: its HELP text and Prometheus type, by metric name (read by the exposition
writer, netmon/exposition.py, and by the reference collector in netmon/exporter.py; the golden /metrics test
guards them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricDoc:
    help: str
    kind: str  # prometheus type: gauge | counter | info


CATALOGUE: dict[str, MetricDoc] = {
    "netmon_device_up": MetricDoc("1 if the last poll of this device and source succeeded, else 0.", "gauge"),
    "netmon_device_info": MetricDoc("Identity of a monitored device (always 1).", "gauge"),
    "netmon_device_uptime_seconds": MetricDoc("Time since the device's agent last started.", "gauge"),
    "netmon_wifi_clients": MetricDoc("Wifi clients associated, per radio interface and SSID.", "gauge"),
    "netmon_wifi_frequency_hertz": MetricDoc("Centre frequency of the radio's channel.", "gauge"),
    "netmon_wifi_registrations": MetricDoc("Rows in the device's wireless registration table.", "gauge"),
    "netmon_hotspot_active_users": MetricDoc("Hotspot users logged in now (a count, never names).", "gauge"),
    "netmon_hotspot_hosts": MetricDoc("Devices in the hotspot host table (logged in or not), a count.", "gauge"),
    "netmon_hotspot_bytes_total": MetricDoc(
        "Bytes of hotspot sessions, seen from the router: in = users' upload, out = users' download.", "counter"),
    "netmon_dhcp_leases_active": MetricDoc("Active DHCP leases.", "gauge"),
    "netmon_interface_receive_bytes_total": MetricDoc("Bytes received on the interface.", "counter"),
    "netmon_interface_transmit_bytes_total": MetricDoc("Bytes transmitted on the interface.", "counter"),
    "netmon_interface_up": MetricDoc("1 if the interface is operationally up, else 0.", "gauge"),
    "netmon_device_cpu_load_ratio": MetricDoc("CPU load of the device, 0 to 1.", "gauge"),
    "netmon_device_memory_used_ratio": MetricDoc("Share of the device's RAM in use, 0 to 1.", "gauge"),
    "netmon_device_temperature_celsius": MetricDoc("Temperature reported by the device.", "gauge"),
    "netmon_device_voltage_volts": MetricDoc("Supply voltage reported by the device.", "gauge"),
    "netmon_ping_rtt_seconds": MetricDoc("Average ICMP echo round-trip time of the last probe.", "gauge"),
    "netmon_ping_loss_ratio": MetricDoc("Share of ICMP echo requests of the last probe left unanswered.", "gauge"),
    "netmon_poll_duration_seconds": MetricDoc("Duration of the last poll of this device and source.", "gauge"),
    "netmon_poll_errors_total": MetricDoc(
        "Failed polls by reason (timeout, auth, protocol, unavailable, error).", "counter"),
    "netmon_last_poll_success_timestamp_seconds": MetricDoc(
        "Unix time when the last successful poll of this device and source ended.", "gauge"),
}
PROCESS_GAUGES: dict[str, MetricDoc] = {
    "netmon_scheduler_polls_in_flight": MetricDoc("Polls running now.", "gauge"),
    "netmon_scheduler_devices": MetricDoc("Devices scheduled for polling.", "gauge"),
    "netmon_scheduler_missed_cycles_total": MetricDoc(
        "Poll cycles skipped because the previous poll of the device was still running or late.", "counter"),
    "netmon_scheduler_polls_total": MetricDoc("Polls started since the daemon started.", "counter"),
    "netmon_snmpv3_messages_rejected_total": MetricDoc(
        "SNMPv3 messages refused: by the agent (its usmStats report) or by netmon (failed MAC, time window, "
        "decryption or security level; malformed; unexpected, e.g. a replay), by reason.", "counter"),
    "netmon_gc_collections_total": MetricDoc("Garbage collections of the daemon's main process, by generation.",
                                             "counter"),
    "netmon_gc_seconds_total": MetricDoc(
        "CPU time the main process's event loop spent in garbage collections, by generation.", "counter"),
    "netmon_gc_longest_seconds": MetricDoc(
        "CPU time of the longest garbage collection of the main process since it started, by generation.",
        "gauge"),
    "netmon_exporter_pages_total": MetricDoc(
        "/metrics pages written since start (scrapes that arrive while one is written share it).", "counter"),
    "netmon_exporter_page_cpu_seconds_total": MetricDoc(
        "CPU time spent writing the /metrics pages, by part: taking the content on the event loop (loop), "
        "joining and compressing it in a thread (writing).", "counter"),
    "netmon_cluster_leader": MetricDoc(
        "1 on the cluster node that leads (evaluates alerts, opens tickets, delivers the outboxes, builds reports) "
        "and whose leader's work runs, 0 on the others; by node.", "gauge"),
    "netmon_cluster_live_nodes": MetricDoc("Cluster nodes this node saw alive at its last heartbeat.", "gauge"),
    "netmon_cluster_sites": MetricDoc("Sites whose devices this cluster node polls (its share).", "gauge"),
    "netmon_cluster_database_available": MetricDoc(
        "1 while this cluster node's heartbeats reach the database, 0 while they fail.", "gauge"),
    "netmon_cluster_heartbeat_failures_total": MetricDoc(
        "Heartbeats of this cluster node that failed or were skipped (the previous one still running).", "counter"),
    "netmon_cluster_results_sent_total": MetricDoc(
        "Poll results this cluster node sent towards the leader (the result stream).", "counter"),
    "netmon_cluster_results_handed_total": MetricDoc(
        "Poll results of every node this node, while leading, handed to the fleet pipeline (state, rollups, "
        "alerts); a result is handed again by the next leader when its leader died before it was durable.",
        "counter"),
    "netmon_cluster_results_rejected_total": MetricDoc(
        "Items of the result stream the leader skipped: not a poll result, or the pipeline failed on it.",
        "counter"),
    "netmon_cluster_results_stale_total": MetricDoc(
        "Poll results the leader skipped because it had handed on a newer poll of the same device and source "
        "(two nodes polled it for a while: a node cut off from the database, a share that moved).", "counter"),
    "netmon_device_state": MetricDoc("1 for the device's current availability state, 0 for the others.", "gauge"),
    "netmon_device_outage_active": MetricDoc("1 while the device has an open outage, by cause.", "gauge"),
    "netmon_device_reboots_total": MetricDoc("Reboots detected since the daemon started.", "counter"),
    "netmon_samples_rejected_total": MetricDoc(
        "Samples outside their metric's plausible range (or NaN), not exported, stored or alerted on.", "counter"),
    "netmon_storage_queue_depth": MetricDoc("Records waiting in memory to be written to the database.", "gauge"),
    "netmon_storage_spooled_records": MetricDoc("Records waiting in the on-disk spool (database away).", "gauge"),
    "netmon_storage_available": MetricDoc("1 while the database accepts writes.", "gauge"),
    "netmon_storage_write_failures_total": MetricDoc("Failed attempts to write to the database.", "counter"),
    "netmon_storage_fenced_records_total": MetricDoc(
        "Records queued as cluster leader and dropped unwritten because another node has led since (the write "
        "fence).", "counter"),
    "netmon_storage_records_written_total": MetricDoc("Records committed to the database.", "counter"),
    "netmon_outbox_pending": MetricDoc("Notifications, ticket updates or MQTT events waiting to be delivered.",
                                       "gauge"),
    "netmon_outbox_available": MetricDoc("1 while the destination accepts deliveries.", "gauge"),
    "netmon_outbox_delivered_total": MetricDoc("Items delivered to the destination.", "counter"),
    "netmon_outbox_failures_total": MetricDoc("Failed delivery attempts (each is retried).", "counter"),
    "netmon_incidents_open": MetricDoc("Open incidents (device, site, area and metric alerts).", "gauge"),
    "netmon_site_info": MetricDoc("A configured KIM site and where it is (always 1).", "gauge"),
    "netmon_agent_outbox_depth": MetricDoc("Results in the site agent's outbox, not yet acknowledged by the broker.",
                                           "gauge"),
    "netmon_agent_outbox_bytes": MetricDoc("Size of the results in the site agent's outbox.", "gauge"),
    "netmon_agent_outbox_oldest_age_seconds": MetricDoc(
        "Age of the oldest result in the site agent's outbox (0 when empty).", "gauge"),
    "netmon_agent_outbox_dropped_total": MetricDoc(
        "Results the site agent's outbox dropped, oldest first, when its size or age bound was hit.", "counter"),
    "netmon_agent_last_seq": MetricDoc("The newest sequence number the site agent assigned to a result.", "gauge"),
    "netmon_agent_results_sent_total": MetricDoc("Results the broker acknowledged since the agent started.",
                                                 "counter"),
    "netmon_agent_broker_connected": MetricDoc("1 while the site agent is connected to the MQTT broker.", "gauge"),
    "netmon_site_unique_clients_today": MetricDoc(
        "Distinct client devices seen at the site since local midnight (counted by keyed hash).", "gauge"),
}

"""Ingestion: MQTT messages from wells and canal gates -> readings and water use."""

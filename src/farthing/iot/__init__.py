"""Devices on MQTT: the gateway between a broker and Farthing's API (`farthing.iot.gateway`)."""

"""`landmarket plots push`: the client a municipal GIS office syncs its plots with.

Reading (sources, formats, geometry), turning rows into plot Features (mapping, values,
convert) and sending them as one import session (client, report, cli). Client side only: it
talks to the API over HTTP like any other client.
"""

"""Live series on the server side: reading ingest bodies (`points`), each series' settings
(`series`), the ingest policy (`ingest`), the scoring queue (`queue`), what people see
(`views`), the scoring worker (`scoring`) and its saved states (`states`). Clients that send
points are in `vigil.client`."""

-- intent_events and intents bodies are now written with the v2 dictionaries (axp_store's
-- body_codec: the byte 0x03 for events and 0x04 for intents, then a zstd frame made with a
-- dictionary trained on rows of every kind, with entropy tables: smaller bodies, compressed in
-- about half the time). The rows already here keep their bodies (0x01, 0x02, or JSON text),
-- which the same reads take. No row changes; the step exists so that an older axp, which could
-- not read the new rows, refuses the database. The comments say what the columns hold.
COMMENT ON COLUMN intent_events.body IS
    'JSON text, or a dictionary byte (0x01 v1, 0x03 v2) and a zstd frame: axp_store body_codec';
COMMENT ON COLUMN intents.body IS
    'JSON text, or a dictionary byte (0x02 v1, 0x04 v2) and a zstd frame: axp_store body_codec';

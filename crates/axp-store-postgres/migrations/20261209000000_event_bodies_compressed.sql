-- intent_events bodies as bytes. New rows are compressed (axp_store's event_codec: the byte 0x01,
-- then a zstd frame made with a dictionary of what stored events share; about a quarter of the
-- JSON text). The rows already here keep their JSON text, as its UTF-8 bytes, which the same
-- reads take (text starts with `{` or `[`).
ALTER TABLE intent_events ALTER COLUMN body TYPE bytea USING convert_to(body, 'UTF8');

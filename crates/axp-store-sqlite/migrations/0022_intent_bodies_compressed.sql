-- intents bodies are now written compressed (axp_store's body_codec: the byte 0x02, then a zstd
-- frame made with a dictionary of what stored intents share; about a third of the JSON text),
-- as BLOBs in the same column. The rows already here keep their JSON text, which the same reads
-- take. The listing filters that read the body's JSON (sender, type) get columns of their own,
-- filled here from the JSON of the rows already written.
ALTER TABLE intents ADD COLUMN from_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE intents ADD COLUMN intent_type TEXT NOT NULL DEFAULT '';
UPDATE intents SET from_agent = json_extract(body, '$.from_agent'),
                   intent_type = json_extract(body, '$.intent_type');

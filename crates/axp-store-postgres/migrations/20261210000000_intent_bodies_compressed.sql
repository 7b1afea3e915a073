-- intents bodies as bytes. New rows are compressed (axp_store's body_codec: the byte 0x02, then
-- a zstd frame made with a dictionary of what stored intents share; about a third of the JSON
-- text). The rows already here keep their JSON text, as its UTF-8 bytes, which the same reads
-- take. The listing filters that read the body's JSON (sender, type) get columns of their own,
-- filled from the JSON of the rows already written.
ALTER TABLE intents ADD COLUMN from_agent text, ADD COLUMN intent_type text;
UPDATE intents SET from_agent = body::json ->> 'from_agent', intent_type = body::json ->> 'intent_type';
ALTER TABLE intents
    ALTER COLUMN from_agent SET NOT NULL,
    ALTER COLUMN intent_type SET NOT NULL,
    ALTER COLUMN body TYPE bytea USING convert_to(body, 'UTF8');

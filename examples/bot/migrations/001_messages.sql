-- One row per accepted update: the primary key is what makes a redelivered update_id a no-op.
CREATE TABLE messages (
    update_id BIGINT PRIMARY KEY,
    chat_id BIGINT NOT NULL,
    command TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX messages_chat ON messages (chat_id, command);

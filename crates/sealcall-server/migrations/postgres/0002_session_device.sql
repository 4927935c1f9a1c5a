-- A session belongs to (at most) one device: bound at sign-in (the device's id and identity key)
-- or when the session registers its device. Removing the device ends its sessions.
ALTER TABLE sessions ADD COLUMN device_id TEXT COLLATE "C" REFERENCES devices(id) ON DELETE CASCADE;
CREATE INDEX sessions_by_device ON sessions(device_id);

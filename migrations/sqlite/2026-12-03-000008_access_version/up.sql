-- A caller's rights are read on every request and change rarely. A server may keep them while
-- the tenant's access version is what it was when they were read: every change to what the
-- caller's statement reads (a user's status or kind, roles, role permissions, grants,
-- locations) counts the version up, in the same transaction, whoever writes it. Sessions are
-- checked on their own (a sign-out must not drop every other user's kept rights).
ALTER TABLE tenants ADD COLUMN access_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER users_access AFTER UPDATE ON users
    WHEN OLD.status IS NOT NEW.status OR OLD.kind IS NOT NEW.kind
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER roles_access_insert AFTER INSERT ON roles
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER roles_access_update AFTER UPDATE ON roles
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER roles_access_delete AFTER DELETE ON roles
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = OLD.tenant_id;
END;
CREATE TRIGGER role_permissions_access_insert AFTER INSERT ON role_permissions
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER role_permissions_access_update AFTER UPDATE ON role_permissions
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER role_permissions_access_delete AFTER DELETE ON role_permissions
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = OLD.tenant_id;
END;
CREATE TRIGGER user_roles_access_insert AFTER INSERT ON user_roles
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER user_roles_access_update AFTER UPDATE ON user_roles
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER user_roles_access_delete AFTER DELETE ON user_roles
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = OLD.tenant_id;
END;
CREATE TRIGGER user_grants_access_insert AFTER INSERT ON user_grants
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER user_grants_access_update AFTER UPDATE ON user_grants
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER user_grants_access_delete AFTER DELETE ON user_grants
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = OLD.tenant_id;
END;
CREATE TRIGGER user_locations_access_insert AFTER INSERT ON user_locations
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER user_locations_access_update AFTER UPDATE ON user_locations
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER user_locations_access_delete AFTER DELETE ON user_locations
BEGIN
    UPDATE tenants SET access_version = access_version + 1 WHERE id = OLD.tenant_id;
END;

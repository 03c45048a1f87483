-- A caller's rights are read on every request and change rarely. A server may keep them while
-- the tenant's access version is what it was when they were read: every change to what the
-- caller's statement reads (a user's status or kind, roles, role permissions, grants,
-- locations) counts the version up, in the same transaction, whoever writes it. Sessions are
-- checked on their own (a sign-out must not drop every other user's kept rights).
ALTER TABLE tenants ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION sy_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE tenants SET access_version = access_version + 1 WHERE id = OLD.tenant_id;
    ELSE
        UPDATE tenants SET access_version = access_version + 1 WHERE id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_access AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION sy_access_changed();
CREATE TRIGGER roles_access AFTER INSERT OR UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION sy_access_changed();
CREATE TRIGGER role_permissions_access AFTER INSERT OR UPDATE OR DELETE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION sy_access_changed();
CREATE TRIGGER user_roles_access AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION sy_access_changed();
CREATE TRIGGER user_grants_access AFTER INSERT OR UPDATE OR DELETE ON user_grants
    FOR EACH ROW EXECUTE FUNCTION sy_access_changed();
CREATE TRIGGER user_locations_access AFTER INSERT OR UPDATE OR DELETE ON user_locations
    FOR EACH ROW EXECUTE FUNCTION sy_access_changed();

DROP TRIGGER users_access ON users;
DROP TRIGGER roles_access ON roles;
DROP TRIGGER role_permissions_access ON role_permissions;
DROP TRIGGER user_roles_access ON user_roles;
DROP TRIGGER user_grants_access ON user_grants;
DROP TRIGGER user_locations_access ON user_locations;
DROP FUNCTION sy_access_changed();
ALTER TABLE tenants DROP COLUMN access_version;

\startpipeline
CLOSE ALL;
SET SESSION AUTHORIZATION DEFAULT;
RESET ALL;
UNLISTEN *;
SELECT pg_catalog.pg_advisory_unlock_all();
DISCARD TEMP;
DISCARD SEQUENCES;
SELECT pg_catalog.count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql;
\endpipeline
START TRANSACTION READ ONLY;
SELECT current_user::text, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, pg_catalog.pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'), pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'), pg_catalog.pg_has_role(current_user, 'pg_write_server_files', 'MEMBER'), pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'), pg_catalog.pg_has_role(current_user, 'pg_read_all_data', 'MEMBER'), pg_catalog.pg_has_role(current_user, 'pg_write_all_data', 'MEMBER'), pg_catalog.has_database_privilege(current_database(), 'CREATE'), CASE WHEN false THEN (SELECT pg_catalog.string_agg(quote_ident(s.nspname), ', ' ORDER BY s.nspname) FROM pg_catalog.pg_namespace s WHERE s.nspowner = r.oid AND s.nspname NOT LIKE 'pg\_%' AND s.nspname <> 'information_schema') END, CASE WHEN false THEN (SELECT pg_catalog.string_agg(quote_ident(b.rolname), ', ' ORDER BY b.rolname) FROM pg_catalog.pg_roles b WHERE b.oid <> r.oid AND b.rolname NOT LIKE 'pg\_%' AND pg_catalog.pg_has_role(current_user, b.oid, 'MEMBER')) END, EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles b ON b.oid = m.roleid WHERE b.rolsuper AND b.oid <> r.oid AND pg_catalog.pg_has_role(current_user, b.oid, 'MEMBER')), pg_catalog.pg_current_snapshot()::text, pg_catalog.current_setting('search_path'), pg_catalog.pg_my_temp_schema()::text, pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
SELECT g AS id, 'item ' || g AS name, :client_id AS n FROM generate_series(1, 10) AS g;
ROLLBACK;

/* store_migrate: versioned schema migrations, numbered SQL files applied
 * once each and recorded in the table schema_migrations. The files of the
 * desk's schema are in shared/store/migrations/. */
#ifndef STORE_MIGRATE_H
#define STORE_MIGRATE_H

#include "store_pg.h"

/* Applies the migrations in dir not yet applied. Files are named
 * NNN_name.sql (NNN: the version number, name: letters, digits, '_', '-');
 * other .sql names are an error, other files are ignored. Each file runs in
 * a transaction of its own (it must not contain BEGIN/COMMIT) together with
 * its row in schema_migrations (version, name, applied_at). A session-level
 * advisory lock makes concurrent callers wait for each other, so several
 * daemons may start at once. A version recorded under another name than its
 * file's is an error (a renumbered migration). *applied (may be NULL) gets
 * the number of files applied. Returns 0, STORE_EINVALID (bad names, a file
 * that fails: it is rolled back and the ones after it are not run) or
 * STORE_EDB. */
int store_migrate(struct store *s, const char *dir, int *applied);

#endif

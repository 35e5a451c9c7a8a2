/* store_admin: what the administration page manages beyond the workspace's
 * teams and roles (store_workspace.h): the list of every person with a
 * search, team names, the managed ticket categories with the default team
 * each routes to (migration 015_i18n.sql; store_escalate applies it), and
 * the settings an administrator changes at runtime (table settings: a row
 * overrides the config file's value; chatdesk reads them where it uses
 * them). Callers check that the actor is an admin (store_admin_check); the
 * audit rows are the caller's (chatdesk/api_admin.c). */
#ifndef STORE_ADMIN_H
#define STORE_ADMIN_H

#include <stdint.h>

#include "store_pg.h"

/* 0 when who is an enabled admin; STORE_EFORBIDDEN (anyone else, also an
 * unknown or disabled person) or STORE_EDB. */
int store_admin_check(struct store *s, int64_t who);

struct store_admin_person {
    int64_t id, created_at;
    const char *name;
    const char *username, *email; /* NULL when absent */
    const char *role;             /* requester, agent, admin */
    const char *roles;            /* JSON array of the extra roles */
    const char *teams;            /* JSON array of team slugs */
    int disabled;
};

/* Person id (0: everyone, requesters too) whose name, user name or e-mail contains q
 * (case-insensitive; NULL or "": anyone) and whose people.role is role
 * (NULL: any), staff first then by id, at most limit (1..500) of them, to
 * cb (borrowed strings; a non-zero return stops and is returned). Returns
 * 0, STORE_EINVALID (a bad role or limit) or STORE_EDB. */
int store_admin_people(struct store *s, int64_t id, const char *q, const char *role, int limit,
                       int (*cb)(void *arg, const struct store_admin_person *p), void *arg);

/* Renames team slug: name (1..128 characters, not blank) and name_en (NULL
 * or "": none). Returns 0, STORE_ENOTFOUND, STORE_EINVALID or STORE_EDB. */
int store_team_rename(struct store *s, const char *slug, const char *name, const char *name_en);

struct store_category {
    int64_t id;
    const char *name;
    const char *team, *team_name; /* the default team's slug and name, NULL: none */
};

/* Every managed category by name to cb (borrowed strings). Returns 0, the
 * callback's value or STORE_EDB. */
int store_categories(struct store *s, int (*cb)(void *arg, const struct store_category *c),
                     void *arg);

/* Creates (id 0) or changes category id: its name (1..200 characters, no
 * blanks around it) and default team (a slug; NULL or "": none). *out_id
 * (may be NULL) gets its id. Returns 0, STORE_ENOTFOUND (no such category
 * or team), STORE_ECONFLICT (the name exists), STORE_EINVALID or
 * STORE_EDB. */
int store_category_put(struct store *s, int64_t id, const char *name, const char *team,
                       int64_t *out_id);

/* Deletes category id (tickets keep their category text). Returns 0,
 * STORE_ENOTFOUND or STORE_EDB. */
int store_category_delete(struct store *s, int64_t id);

/* The settings an administrator may change at runtime, with their ranges
 * (the config file's ranges too). */
struct store_setting_def {
    const char *key;
    int min, max;
};
extern const struct store_setting_def store_setting_defs[];
extern const int store_setting_ndefs;

/* The definition of key, or NULL when it is not a runtime setting. */
const struct store_setting_def *store_setting_def(const char *key);

/* *out gets key's stored value, or def when it has none or cannot be read
 * (then the return says why). Returns 0, STORE_EINVALID (not a runtime
 * setting) or STORE_EDB. */
int store_setting_get(struct store *s, const char *key, int def, int *out);

/* Stores key = value for actor (set 1), or removes the override (set 0:
 * the config file's value applies again). *old / *had_old (may be NULL)
 * get the value before and whether there was one. Returns 0,
 * STORE_EINVALID (unknown key, value out of range) or STORE_EDB. */
int store_setting_set(struct store *s, const char *key, int set, int value, int64_t actor,
                      int *old, int *had_old);

#endif

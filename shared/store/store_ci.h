/* store_ci: configuration items, light (the operations-and-maintenance
 * standard, 8.3.5), in the tables cis, ci_relations, ci_refs and
 * ci_events: services, applications, systems, servers, network gear,
 * devices and databases as records with a type, an owner (an agent or a
 * team's name) and typed relations (runs_on, depends_on, part_of,
 * connects_to); tickets, problems and knowledge documents refer to them,
 * and an item lists what refers to it (its open tickets and known errors
 * first of all). Each change is one transaction writing its ci_events row.
 * Retiring an item keeps it and its references but takes no new ones.
 *
 * Who may: enabled agents and admins do all of it; requesters nothing
 * (STORE_EFORBIDDEN). */
#ifndef STORE_CI_H
#define STORE_CI_H

#include "store_pg.h"

/* The types and relations, for messages and checks (NULL-terminated). */
extern const char *const store_ci_types[];
extern const char *const store_ci_relation_types[];

struct store_ci {
    int64_t id;
    char code[STORE_NUMBER_MAX];     /* CI-000001 */
    char type[STORE_WORD_MAX];
    char *name, *description;        /* owned */
    int64_t owner_id;                /* 0: none */
    char owner_name[STORE_NAME_MAX]; /* "" without an owner person */
    char *owner_team;                /* owned, NULL: none */
    int retired;
    int open_tickets;                /* referring tickets not resolved or closed */
    int64_t created_at, updated_at;
};

/* Frees ci's strings and zeroes it. Safe on a zeroed struct. */
void store_ci_fin(struct store_ci *ci);

/* What create and edit set; NULL (owner_id -1) means "not given". create
 * needs type and name; owner_id 0 clears the owner person, owner_team ""
 * the team. Name 1..200 characters, description up to 20,000. */
struct store_ci_fields {
    const char *type, *name, *description, *owner_team;
    int64_t owner_id; /* -1: not given; 0: none; else an enabled agent or admin */
};

/* Creates an item (event "created") into *out (free with store_ci_fin).
 * Returns 0, STORE_EFORBIDDEN, STORE_EINVALID (bad field; the owner is not
 * an agent), STORE_ECONFLICT (that type has an item of that name) or
 * STORE_EDB. */
int store_ci_create(struct store *s, int64_t actor, const struct store_ci_fields *f,
                    struct store_ci *out);

/* Reads item code into *out. Returns 0, STORE_ENOTFOUND, STORE_EFORBIDDEN
 * or STORE_EDB. */
int store_ci_get(struct store *s, const char *code, int64_t viewer, struct store_ci *out);

/* Items by name, those with id above after (0: from the first), at most
 * limit (1..500), of type (NULL: any), whose name contains q (NULL: any;
 * case-insensitive), retired ones only when with_retired. cb gets each
 * (borrowed); non-zero stops. Returns 0, STORE_EFORBIDDEN, STORE_EINVALID
 * or STORE_EDB. */
int store_ci_list(struct store *s, int64_t viewer, const char *type, const char *q,
                  int with_retired, int64_t after, int limit,
                  int (*cb)(void *ud, const struct store_ci *ci), void *ud);

/* Changes the given fields (event "edited" naming them; nothing different
 * writes nothing) into *out. Returns as store_ci_create, or
 * STORE_ENOTFOUND. */
int store_ci_edit(struct store *s, const char *code, int64_t actor,
                  const struct store_ci_fields *f, struct store_ci *out);

/* Retires item code (event "retired"); again is not an error. Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_ci_retire(struct store *s, const char *code, int64_t actor);

/* Adds (on 1) or removes (on 0) the relation from -type-> to (events
 * "related" / "unrelated" on both). Adding twice is not an error. Returns
 * 0, STORE_ENOTFOUND (an item; removing: no such relation),
 * STORE_EFORBIDDEN, STORE_EINVALID (unknown type, an item to itself, a
 * retired item) or STORE_EDB. */
int store_ci_relate(struct store *s, const char *from, const char *type, const char *to,
                    int64_t actor, int on);

struct store_ci_relation {
    int outgoing;               /* 1: code -type-> other; 0: other -type-> code */
    char type[STORE_WORD_MAX];
    char other[STORE_NUMBER_MAX];
    const char *other_name;     /* borrowed */
    char other_type[STORE_WORD_MAX];
};

/* The relations of item code, outgoing first, to cb. Returns 0,
 * STORE_ENOTFOUND, STORE_EFORBIDDEN or STORE_EDB. */
int store_ci_relations(struct store *s, const char *code, int64_t viewer,
                       int (*cb)(void *ud, const struct store_ci_relation *r), void *ud);

/* Makes (on 1) or drops (on 0) a reference to item code from a ticket
 * (kind "ticket", ref its number), a problem ("problem", its number) or a
 * knowledge document ("knowledge", its index id: a corpus file's or a desk
 * item's), with event "referred" / "unreferred". Twice is not an error.
 * Returns 0, STORE_ENOTFOUND (the item, ticket or problem; dropping: no
 * such reference), STORE_EFORBIDDEN, STORE_EINVALID (unknown kind, a
 * retired item) or STORE_EDB. */
int store_ci_refer(struct store *s, const char *code, const char *kind, const char *ref,
                   int64_t actor, int on);

struct store_ci_ref {
    char kind[STORE_WORD_MAX];  /* ticket, problem, knowledge */
    const char *ref;            /* number or document id (borrowed) */
    const char *title;          /* summary / title, NULL when unknown (a corpus file) */
    const char *status;         /* ticket or problem status, item state; NULL when unknown */
    int open;                   /* a ticket or problem not resolved or closed */
};

/* What refers to item code: open tickets first, then the other tickets,
 * problems and documents, each newest first. Returns as
 * store_ci_relations. */
int store_ci_refs(struct store *s, const char *code, int64_t viewer,
                  int (*cb)(void *ud, const struct store_ci_ref *r), void *ud);

/* The items a ticket, problem or document (kind and ref as in
 * store_ci_refer) refers to, to cb. Returns 0, STORE_EFORBIDDEN,
 * STORE_EINVALID (unknown kind) or STORE_EDB. */
int store_ci_of(struct store *s, const char *kind, const char *ref, int64_t viewer,
                int (*cb)(void *ud, const struct store_ci *ci), void *ud);

#endif

/* proto: parsing client frames and building server frames (see proto.h and
 * chatdesk/PROTOCOL.md). A frame is checked in this order, and the first
 * failure decides the error: UTF-8 (and NUL bytes), JSON syntax, object,
 * "id" (so later errors can echo it), "type", then the type's fields in the
 * order PROTOCOL.md lists them. */
#include "proto.h"
#include "kb_doc.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const code_names[P_NCODES] = {
    [P_OK] = "ok",
    [P_BAD_JSON] = "bad_json",
    [P_BAD_ENCODING] = "bad_encoding",
    [P_BAD_FRAME] = "bad_frame",
    [P_TOO_LARGE] = "too_large",
    [P_NOT_OBJECT] = "not_object",
    [P_MISSING_FIELD] = "missing_field",
    [P_BAD_FIELD] = "bad_field",
    [P_UNKNOWN_TYPE] = "unknown_type",
    [P_RATE_LIMITED] = "rate_limited",
    [P_OVERLOADED] = "overloaded",
    [P_NOT_AUTHENTICATED] = "not_authenticated",
    [P_ALREADY_AUTHENTICATED] = "already_authenticated",
    [P_LOGIN_FAILED] = "login_failed",
    [P_SESSION_EXPIRED] = "session_expired",
    [P_FORBIDDEN] = "forbidden",
    [P_NOT_FOUND] = "not_found",
    [P_ALREADY_TAKEN] = "already_taken",
    [P_INVALID_STATE] = "invalid_state",
    [P_ALREADY_RATED] = "already_rated",
    [P_DB_UNAVAILABLE] = "db_unavailable",
    [P_INTERNAL] = "internal",
    [P_TOO_MANY_ATTEMPTS] = "too_many_attempts",
    [P_TRY_LATER] = "try_later",
    [P_CONFLICT] = "conflict",
};

const char *proto_code_name(int code)
{
    if (code <= 0 || code >= P_NCODES)
        return "internal";
    return code_names[code];
}

static const char *const type_names[] = {
    [DM_NONE] = "",          [DM_HELLO] = "hello",     [DM_LOGIN] = "login",
    [DM_MESSAGE] = "message", [DM_FEEDBACK] = "feedback", [DM_ESCALATE] = "escalate",
    [DM_QUEUE] = "queue",    [DM_TAKE] = "take",       [DM_REPLY] = "reply",
    [DM_LINK] = "link",      [DM_RESOLVE] = "resolve", [DM_CONFIRM] = "confirm",
    [DM_RATE] = "rate",      [DM_OPEN] = "open",       [DM_TYPING] = "typing",
    [DM_PING] = "ping",      [DM_LOGOUT] = "logout",   [DM_SEARCH] = "search",
    [DM_DOC] = "doc",        [DM_CATCHUP] = "catchup", [DM_MAINTAIN] = "maintain",
    [DM_SLA] = "sla",
    [DM_EDIT] = "edit",      [DM_NOTE] = "note",       [DM_TRANSFER] = "transfer",
    [DM_KB_FEEDBACK] = "kb_feedback",
    [DM_SIGNIN_REQUEST] = "signin_request", [DM_SIGNIN] = "signin",
    [DM_PRIVATE_LINK] = "private_link", [DM_MY_TICKETS] = "my_tickets",
    [DM_FOLLOW] = "follow", [DM_MAIL_PREFS] = "mail_prefs", [DM_MAIL] = "mail",
    [DM_AWAY] = "away",
    [DM_PENDING] = "pending", [DM_RESUME] = "resume", [DM_LEAVE] = "leave",
};

const char *proto_type_name(enum desk_msg_type t)
{
    if ((size_t)t >= sizeof type_names / sizeof *type_names)
        return "";
    return type_names[t];
}

void desk_msg_fin(struct desk_msg *m)
{
    if (!m)
        return;
    if (m->password) {
        volatile char *p = m->password;
        while (*p)
            *p++ = 0;
    }
    char *strs[] = {m->id,     m->name,    m->email,   m->session,  m->username,
                    m->password, m->text,  m->item,    m->summary,  m->category,
                    m->ticket, m->relation, m->resolution, m->comment, m->q,
                    m->kind,   m->verdict, m->link, m->code, m->team, m->reason,
                    m->was_summary, m->was_category};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        free(strs[i]);
    memset(m, 0, sizeof *m);
}

size_t proto_utf8_chars(const char *s)
{
    return kb_utf8_count(s, strlen(s));
}

/* ---- parsing --------------------------------------------------------------- */

static int fail(struct proto_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct proto_error *err, int code, const char *field, const char *fmt, ...)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* Is s (valid UTF-8) only blanks: Unicode white space (ASCII blanks, NBSP,
 * U+2000..U+200A, the ideographic space U+3000 a Chinese keyboard types,
 * ...) and the invisible zero-width characters? The same set as the
 * messages_body_not_blank constraint (migration 002). */
static int blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c;
        size_t n;
        if (*p < 0x80) {
            c = *p;
            n = 1;
        } else if ((*p & 0xE0) == 0xC0 && p[1]) {
            c = ((uint32_t)(*p & 0x1F) << 6) | (p[1] & 0x3F);
            n = 2;
        } else if ((*p & 0xF0) == 0xE0 && p[1] && p[2]) {
            c = ((uint32_t)(*p & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            n = 3;
        } else {
            return 0; /* 4-byte characters are never blank */
        }
        int white = c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
                    c == 0x1680 || (c >= 0x2000 && c <= 0x200D) || c == 0x2028 ||
                    c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x2060 ||
                    c == 0x3000 || c == 0xFEFF;
        if (!white)
            return 0;
        p += n;
    }
    return 1;
}

enum { OPTIONAL = 0, REQUIRED = 1 };
/* string flags */
#define S_NOBLANK 1 /* not only blanks */
#define S_BYTES 2   /* min / max count bytes, not characters */

/* Field key of o, or NULL when it is absent or null: then *rc is 0, or
 * the P_MISSING_FIELD failure when the field is required. */
static json_t *get_field(json_t *o, const char *key, int required, int *rc,
                         struct proto_error *err)
{
    json_t *v = json_object_get(o, key);
    *rc = 0;
    if (!v || json_is_null(v)) {
        if (required)
            *rc = fail(err, P_MISSING_FIELD, key, "%s is required", key);
        return NULL;
    }
    return v;
}

/* Reads string field key of o into *out (a copy; NULL when absent or null
 * and optional). Length limits in characters (or bytes with S_BYTES). */
static int get_str(json_t *o, const char *key, int required, size_t min, size_t max, int flags,
                   char **out, struct proto_error *err)
{
    int rc;
    json_t *v = get_field(o, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_string(v))
        return fail(err, P_BAD_FIELD, key, "%s must be a string", key);
    const char *s = json_string_value(v);
    size_t bytes = json_string_length(v);
    if (strlen(s) != bytes)
        return fail(err, P_BAD_ENCODING, key, "%s holds a NUL character", key);
    size_t n = (flags & S_BYTES) ? bytes : proto_utf8_chars(s);
    if (n < min || n > max) {
        if (min <= 1)
            return fail(err, P_BAD_FIELD, key, "%s must be 1 to %zu %s long", key, max,
                        (flags & S_BYTES) ? "bytes" : "characters");
        return fail(err, P_BAD_FIELD, key, "%s must be %zu to %zu %s long", key, min, max,
                    (flags & S_BYTES) ? "bytes" : "characters");
    }
    if ((flags & S_NOBLANK) && blank(s))
        return fail(err, P_BAD_FIELD, key, "%s must not be blank", key);
    *out = kb_xstrndup(s, bytes);
    return 0;
}

/* Reads "attachments" (optional): an array of at most PROTO_ATTACH_MAX
 * distinct positive integer ids into m->attach. */
static int get_attachments(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    json_t *a = json_object_get(o, "attachments");
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > PROTO_ATTACH_MAX)
        return fail(err, P_BAD_FIELD, "attachments",
                    "attachments must be an array of at most %d attachment ids",
                    PROTO_ATTACH_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return fail(err, P_BAD_FIELD, "attachments",
                        "attachments must hold attachment ids (positive integers)");
        int64_t id = (int64_t)json_integer_value(v);
        for (int k = 0; k < m->nattach; k++)
            if (m->attach[k] == id)
                return fail(err, P_BAD_FIELD, "attachments", "attachment %lld given twice",
                            (long long)id);
        m->attach[m->nattach++] = id;
    }
    return 0;
}

/* Reads integer field key in lo..hi. *present (may be NULL) tells whether
 * it was there; an absent optional field leaves *out alone. */
static int get_int(json_t *o, const char *key, int required, long long lo, long long hi,
                   long long *out, struct proto_error *err)
{
    int rc;
    json_t *v = get_field(o, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(err, P_BAD_FIELD, key, "%s must be an integer %lld..%lld", key, lo, hi);
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(json_t *o, const char *key, int required, int *out,
                    struct proto_error *err)
{
    int rc;
    json_t *v = get_field(o, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_boolean(v))
        return fail(err, P_BAD_FIELD, key, "%s must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* edit's "was" (optional): the values the editor started from, for the
 * fields it changes (store_ticket_edit refuses a change to a field whose
 * value is no longer that). A null category is none (""). Errors name
 * the field as "was.<key>". */
static int get_was(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    json_t *w = json_object_get(o, "was");
    if (!w || json_is_null(w))
        return 0;
    if (!json_is_object(w))
        return fail(err, P_BAD_FIELD, "was", "was must be an object");
    const char *key;
    json_t *v;
    json_object_foreach(w, key, v)
    {
        if (strcmp(key, "summary") && strcmp(key, "category") && strcmp(key, "impact") &&
            strcmp(key, "urgency"))
            return fail(err, P_BAD_FIELD, "was", "was has no field %.40s", key);
    }
    long long n = 0;
    int rc = get_str(w, "summary", OPTIONAL, 1, PROTO_SUMMARY_MAX, 0, &m->was_summary, err);
    if (!rc && json_is_null(json_object_get(w, "category")))
        m->was_category = kb_xstrdup("");
    else if (!rc)
        rc = get_str(w, "category", OPTIONAL, 0, PROTO_CATEGORY_MAX, 0, &m->was_category, err);
    if (!rc)
        rc = get_int(w, "impact", OPTIONAL, 1, 3, &n, err);
    m->was_impact = (int)n;
    n = 0;
    if (!rc)
        rc = get_int(w, "urgency", OPTIONAL, 1, 3, &n, err);
    m->was_urgency = (int)n;
    if (rc) {
        char field[sizeof err->field];
        snprintf(field, sizeof field, "was.%.26s", err->field);
        memcpy(err->field, field, sizeof field);
    }
    return rc;
}

/* A ticket number: "INC-" and 1..20 digits. */
static int get_ticket(json_t *o, int required, char **out, struct proto_error *err)
{
    int rc = get_str(o, "ticket", required, 1, PROTO_TICKET_MAX, S_BYTES, out, err);
    if (rc || !*out)
        return rc;
    const char *s = *out;
    int ok = strncmp(s, "INC-", 4) == 0 && s[4];
    for (const char *p = s + 4; ok && *p; p++)
        ok = *p >= '0' && *p <= '9';
    if (!ok) {
        free(*out);
        *out = NULL;
        return fail(err, P_BAD_FIELD, "ticket", "ticket must be a number like INC-000123");
    }
    return 0;
}

/* The ticket (required) and one required, not blank text field key of at
 * most max characters into *text. */
static int get_ticket_text(json_t *o, char **ticket, const char *key, size_t max, char **text,
                           struct proto_error *err)
{
    int rc = get_ticket(o, REQUIRED, ticket, err);
    if (!rc)
        rc = get_str(o, key, REQUIRED, 1, max, S_NOBLANK, text, err);
    return rc;
}

/* The optional "comment" of a rating or feedback into *out; a blank one
 * reads as absent (NULL). */
static int get_comment(json_t *o, char **out, struct proto_error *err)
{
    int rc = get_str(o, "comment", OPTIONAL, 0, PROTO_COMMENT_MAX, 0, out, err);
    if (!rc && *out && blank(*out)) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int parse_hello(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    json_t *role = json_object_get(o, "role");
    if (role && !json_is_null(role) &&
        (!json_is_string(role) || strcmp(json_string_value(role), "requester") != 0))
        return fail(err, P_BAD_FIELD, "role",
                    "role must be \"requester\" (agents use login)");
    json_t *res = json_object_get(o, "resume");
    if (res && !json_is_null(res)) {
        if (!json_is_object(res))
            return fail(err, P_BAD_FIELD, "resume", "resume must be an object");
        m->resume = 1;
        int rc = get_str(res, "session", REQUIRED, 1, PROTO_SESSION_MAX, S_BYTES, &m->session,
                         err);
        long long v = 0;
        if (!rc)
            rc = get_int(res, "last_seq", OPTIONAL, 0, INT32_MAX, &v, err);
        m->last_seq = (int)v;
        v = 0;
        if (!rc)
            rc = get_int(res, "conversation", OPTIONAL, 1, INT64_MAX, &v, err);
        m->resume_conv = v;
        if (rc) {
            /* name the nested field */
            char f[sizeof err->field + 8];
            snprintf(f, sizeof f, "resume.%s", err->field);
            memcpy(err->field, f, sizeof err->field - 1);
            err->field[sizeof err->field - 1] = '\0';
            return rc;
        }
    }
    int rc = get_str(o, "link", OPTIONAL, 1, PROTO_SESSION_MAX, S_BYTES, &m->link, err);
    if (rc)
        return rc;
    if (m->link && m->resume)
        return fail(err, P_BAD_FIELD, "link", "give link or resume, not both");
    rc = get_str(o, "name", m->resume || m->link ? OPTIONAL : REQUIRED, 1, PROTO_NAME_MAX,
                 S_NOBLANK, &m->name, err);
    if (!rc)
        rc = get_str(o, "email", OPTIONAL, PROTO_EMAIL_MIN, PROTO_EMAIL_MAX, 0, &m->email, err);
    if (!rc && m->email && !strchr(m->email, '@'))
        return fail(err, P_BAD_FIELD, "email", "email must be an address with @");
    return rc;
}

static int parse_login(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    int rc = get_str(o, "session", OPTIONAL, 1, PROTO_SESSION_MAX, S_BYTES, &m->session, err);
    if (rc || m->session)
        return rc;
    rc = get_str(o, "username", REQUIRED, 1, PROTO_USERNAME_MAX, 0, &m->username, err);
    if (!rc)
        rc = get_str(o, "password", REQUIRED, 1, PROTO_PASSWORD_MAX, S_BYTES, &m->password, err);
    return rc;
}

/* A search's kind: one of article, known_error, standard, or a comma list
 * of them (no blanks, no empty element). */
static int valid_kinds(const char *s)
{
    for (;;) {
        size_t n = strcspn(s, ",");
        if (!kb_kind_valid(s, n))
            return 0;
        if (!s[n])
            return 1;
        s += n + 1;
    }
}

static int parse_search(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    int rc = get_str(o, "q", REQUIRED, 1, KB_SEARCH_MAX_QUERY, S_BYTES | S_NOBLANK, &m->q, err);
    if (!rc)
        rc = get_str(o, "kind", OPTIONAL, 1, PROTO_KIND_MAX, S_BYTES, &m->kind, err);
    if (!rc && m->kind && !valid_kinds(m->kind))
        return fail(err, P_BAD_FIELD, "kind",
                    "kind must be article, known_error or standard (or a comma list of them)");
    long long v = PROTO_SEARCH_LIMIT;
    if (!rc)
        rc = get_int(o, "limit", OPTIONAL, 1, PROTO_SEARCH_LIMIT_MAX, &v, err);
    m->limit = (int)v;
    v = 0;
    if (!rc)
        rc = get_int(o, "offset", OPTIONAL, 0, PROTO_SEARCH_OFFSET_MAX, &v, err);
    m->offset = (int)v;
    return rc;
}

static const struct {
    const char *name;
    enum desk_msg_type type;
} wire_types[] = {
    {"hello", DM_HELLO},     {"login", DM_LOGIN},     {"message", DM_MESSAGE},
    {"feedback", DM_FEEDBACK}, {"escalate", DM_ESCALATE}, {"queue", DM_QUEUE},
    {"take", DM_TAKE},       {"reply", DM_REPLY},     {"link", DM_LINK},
    {"resolve", DM_RESOLVE}, {"confirm", DM_CONFIRM}, {"rate", DM_RATE},
    {"open", DM_OPEN},       {"typing", DM_TYPING},   {"ping", DM_PING},
    {"logout", DM_LOGOUT},   {"search", DM_SEARCH},   {"doc", DM_DOC},
    {"edit", DM_EDIT},       {"note", DM_NOTE},       {"transfer", DM_TRANSFER},
    {"kb_feedback", DM_KB_FEEDBACK},
    {"signin_request", DM_SIGNIN_REQUEST}, {"signin", DM_SIGNIN},
    {"private_link", DM_PRIVATE_LINK}, {"my_tickets", DM_MY_TICKETS},
    {"follow", DM_FOLLOW}, {"mail_prefs", DM_MAIL_PREFS},
    {"pending", DM_PENDING}, {"resume", DM_RESUME}, {"leave", DM_LEAVE},
};

/* An e-mail address as sign-in takes it: 3..254 characters, one @ with
 * something on both sides, no blanks, controls, quotes or brackets. */
static int get_email(json_t *o, char **out, struct proto_error *err)
{
    int rc = get_str(o, "email", REQUIRED, PROTO_EMAIL_MIN, PROTO_EMAIL_MAX, 0, out, err);
    if (rc)
        return rc;
    const char *at = strchr(*out, '@');
    int ok = at && at != *out && at[1] && !strchr(at + 1, '@');
    for (const char *p = *out; ok && *p; p++)
        if ((unsigned char)*p <= ' ' || strchr("<>,;:\"()[]\\", *p) || (unsigned char)*p == 0x7f)
            ok = 0;
    if (!ok)
        return fail(err, P_BAD_FIELD, "email", "email must be an address like name@example.com");
    return 0;
}

static int parse_signin(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    int rc = get_str(o, "link", OPTIONAL, 1, PROTO_SESSION_MAX, S_BYTES, &m->link, err);
    if (rc || m->link)
        return rc;
    rc = get_email(o, &m->email, err);
    if (!rc)
        rc = get_str(o, "code", REQUIRED, 1, 16, S_BYTES, &m->code, err);
    if (!rc) {
        int ok = strlen(m->code) == PROTO_CODE_LEN;
        for (const char *p = m->code; ok && *p; p++)
            ok = *p >= '0' && *p <= '9';
        if (!ok)
            return fail(err, P_BAD_FIELD, "code", "code must be the six digits of the mail");
    }
    return rc;
}

static int parse_fields(json_t *o, struct desk_msg *m, struct proto_error *err)
{
    long long v = 0;
    int rc = 0;
    switch (m->type) {
    case DM_HELLO:
        return parse_hello(o, m, err);
    case DM_LOGIN:
        return parse_login(o, m, err);
    case DM_MESSAGE:
        if (!m->id)
            return fail(err, P_MISSING_FIELD, "id", "id is required (a client id)");
        rc = get_str(o, "text", REQUIRED, 1, PROTO_TEXT_MAX, S_NOBLANK, &m->text, err);
        if (!rc)
            rc = get_attachments(o, m, err);
        return rc;
    case DM_FEEDBACK:
        rc = get_str(o, "item", REQUIRED, 1, PROTO_ITEM_MAX, 0, &m->item, err);
        if (!rc)
            rc = get_bool(o, "helpful", REQUIRED, &m->helpful, err);
        return rc;
    case DM_ESCALATE:
        rc = get_int(o, "impact", REQUIRED, 1, 3, &v, err);
        m->impact = (int)v;
        if (!rc)
            rc = get_int(o, "urgency", REQUIRED, 1, 3, &v, err);
        m->urgency = (int)v;
        if (!rc)
            rc = get_str(o, "summary", OPTIONAL, 1, PROTO_SUMMARY_MAX, S_NOBLANK, &m->summary,
                         err);
        if (!rc)
            rc = get_str(o, "category", OPTIONAL, 1, PROTO_CATEGORY_MAX, S_NOBLANK,
                         &m->category, err);
        return rc;
    case DM_QUEUE:
    case DM_PING:
    case DM_LOGOUT:
        return 0;
    case DM_TAKE:
    case DM_OPEN:
    case DM_LEAVE:
        return get_ticket(o, REQUIRED, &m->ticket, err);
    case DM_REPLY:
        rc = get_ticket(o, REQUIRED, &m->ticket, err);
        if (!rc && !m->id)
            return fail(err, P_MISSING_FIELD, "id", "id is required (a client id)");
        if (!rc)
            rc = get_str(o, "text", REQUIRED, 1, PROTO_TEXT_MAX, S_NOBLANK, &m->text, err);
        if (!rc)
            rc = get_attachments(o, m, err);
        return rc;
    case DM_LINK:
        rc = get_ticket(o, REQUIRED, &m->ticket, err);
        if (!rc)
            rc = get_str(o, "item", REQUIRED, 1, PROTO_ITEM_MAX, 0, &m->item, err);
        if (!rc)
            rc = get_str(o, "relation", OPTIONAL, 1, 16, 0, &m->relation, err);
        if (!rc && m->relation && strcmp(m->relation, "used") != 0 &&
            strcmp(m->relation, "viewed") != 0 && strcmp(m->relation, "helpful") != 0 &&
            strcmp(m->relation, "suggested") != 0)
            return fail(err, P_BAD_FIELD, "relation",
                        "relation must be used, viewed, helpful or suggested");
        return rc;
    case DM_RESOLVE:
        return get_ticket_text(o, &m->ticket, "resolution", PROTO_TEXT_MAX, &m->resolution, err);
    case DM_CONFIRM:
        rc = get_ticket(o, REQUIRED, &m->ticket, err);
        if (!rc)
            rc = get_bool(o, "accepted", REQUIRED, &m->accepted, err);
        return rc;
    case DM_RATE:
        rc = get_ticket(o, REQUIRED, &m->ticket, err);
        if (!rc)
            rc = get_int(o, "score", REQUIRED, 1, 5, &v, err);
        m->score = (int)v;
        if (!rc)
            rc = get_comment(o, &m->comment, err);
        return rc;
    case DM_SEARCH:
        return parse_search(o, m, err);
    case DM_DOC:
        return get_str(o, "item", REQUIRED, 1, PROTO_ITEM_MAX, 0, &m->item, err);
    case DM_EDIT:
        rc = get_ticket(o, REQUIRED, &m->ticket, err);
        if (!rc)
            rc = get_str(o, "summary", OPTIONAL, 1, PROTO_SUMMARY_MAX, S_NOBLANK, &m->summary,
                         err);
        if (!rc)
            rc = get_str(o, "category", OPTIONAL, 0, PROTO_CATEGORY_MAX, 0, &m->category, err);
        if (!rc && m->category && m->category[0] && blank(m->category))
            return fail(err, P_BAD_FIELD, "category", "category must not be blank");
        if (!rc)
            rc = get_int(o, "impact", OPTIONAL, 1, 3, &v, err);
        m->impact = (int)v;
        v = 0;
        if (!rc)
            rc = get_int(o, "urgency", OPTIONAL, 1, 3, &v, err);
        m->urgency = (int)v;
        if (!rc)
            rc = get_was(o, m, err);
        return rc;
    case DM_NOTE:
        return get_ticket_text(o, &m->ticket, "text", PROTO_TEXT_MAX, &m->text, err);
    case DM_PENDING:
        return get_ticket_text(o, &m->ticket, "reason", PROTO_PENDING_REASON_MAX, &m->reason,
                               err);
    case DM_RESUME:
        return get_ticket(o, REQUIRED, &m->ticket, err);
    case DM_TRANSFER:
        rc = get_ticket(o, REQUIRED, &m->ticket, err);
        if (!rc)
            rc = get_str(o, "team", OPTIONAL, 1, PROTO_TEAM_MAX, S_BYTES, &m->team, err);
        if (!rc)
            rc = get_int(o, "agent", OPTIONAL, 1, INT64_MAX, &v, err);
        m->agent = v;
        if (!rc)
            rc = get_str(o, "reason", REQUIRED, 1, PROTO_REASON_MAX, S_NOBLANK, &m->reason,
                         err);
        if (!rc && !m->team && !m->agent)
            return fail(err, P_MISSING_FIELD, "team", "transfer to a team or an agent");
        return rc;
    case DM_KB_FEEDBACK:
        rc = get_str(o, "item", REQUIRED, 1, PROTO_ITEM_MAX, 0, &m->item, err);
        if (!rc)
            rc = get_str(o, "verdict", REQUIRED, 1, 16, 0, &m->verdict, err);
        if (!rc && !store_kuse_verdict_ok(m->verdict))
            return fail(err, P_BAD_FIELD, "verdict",
                        "verdict must be helpful, not_helpful or out_of_date");
        if (!rc)
            rc = get_comment(o, &m->comment, err);
        return rc;
    case DM_SIGNIN_REQUEST:
        return get_email(o, &m->email, err);
    case DM_SIGNIN:
        return parse_signin(o, m, err);
    case DM_PRIVATE_LINK:
    case DM_MY_TICKETS:
        return 0;
    case DM_FOLLOW:
        return get_ticket(o, REQUIRED, &m->ticket, err);
    case DM_MAIL_PREFS:
        return get_bool(o, "ticket_mail", REQUIRED, &m->ticket_mail, err);
    case DM_TYPING:
        m->active = 1;
        rc = get_ticket(o, OPTIONAL, &m->ticket, err);
        if (!rc)
            rc = get_bool(o, "active", OPTIONAL, &m->active, err);
        return rc;
    default:
        return fail(err, P_UNKNOWN_TYPE, "type", "unknown type");
    }
}

int proto_parse(const char *data, size_t len, struct desk_msg *out, struct proto_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    size_t bad = 0;
    int u = kb_utf8_check(data, len, 0, &bad);
    if (u == KB_UTF8_ENUL)
        return fail(err, P_BAD_ENCODING, NULL, "NUL byte at offset %zu", bad);
    if (u)
        return fail(err, P_BAD_ENCODING, NULL, "invalid UTF-8 at byte %zu", bad);
    json_error_t je;
    size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;
    json_t *o = json_loadb(data, len, flags, &je);
    if (!o)
        return fail(err, P_BAD_JSON, NULL, "not JSON: %s (at byte %d)", je.text, je.position);
    int rc = 0;
    if (!json_is_object(o)) {
        rc = fail(err, P_NOT_OBJECT, NULL, "a frame must be a JSON object");
        goto out;
    }
    rc = get_str(o, "id", OPTIONAL, 1, PROTO_ID_MAX, 0, &out->id, err);
    if (rc)
        goto out;
    if (out->id)
        snprintf(err->id, sizeof err->id, "%s", out->id);
    json_t *t = json_object_get(o, "type");
    if (!t) {
        rc = fail(err, P_MISSING_FIELD, "type", "type is required");
        goto out;
    }
    if (!json_is_string(t)) {
        rc = fail(err, P_BAD_FIELD, "type", "type must be a string");
        goto out;
    }
    const char *tn = json_string_value(t);
    for (size_t i = 0; i < sizeof wire_types / sizeof *wire_types; i++)
        if (strcmp(tn, wire_types[i].name) == 0 && strlen(tn) == json_string_length(t))
            out->type = wire_types[i].type;
    if (out->type == DM_NONE) {
        char shown[40];
        size_t n = json_string_length(t);
        /* cut at a character boundary */
        if (n > 32) {
            n = 32;
            while (n > 0 && ((unsigned char)tn[n] & 0xC0) == 0x80)
                n--;
        }
        snprintf(shown, sizeof shown, "%.*s", (int)n, tn);
        rc = fail(err, P_UNKNOWN_TYPE, "type", "unknown type \"%s\"", shown);
        goto out;
    }
    rc = parse_fields(o, out, err);
out:
    json_decref(o);
    if (rc) {
        char keep[sizeof err->id];
        memcpy(keep, err->id, sizeof keep);
        desk_msg_fin(out);
        memcpy(err->id, keep, sizeof keep);
    }
    return rc;
}

/* ---- building -------------------------------------------------------------- */

char *proto_dump(json_t *o, size_t *len)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) {
        fprintf(stderr, "chatdesk: out of memory serialising JSON\n");
        abort();
    }
    if (len)
        *len = strlen(s);
    return s;
}

char *proto_error_frame(int code, const char *message, const char *id, const char *field,
                        size_t *len)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", proto_code_name(code),
                          "message", message ? message : proto_code_name(code));
    if (!o) /* message was not valid UTF-8: should not happen */
        o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", proto_code_name(code),
                      "message", proto_code_name(code));
    if (id && *id)
        json_object_set_new(o, "id", json_string(id));
    if (field && *field)
        json_object_set_new(o, "field", json_string(field));
    return proto_dump(o, len);
}

char *proto_error_frame_retry(int code, const char *message, const char *id, int retry_after,
                              size_t *len)
{
    size_t n;
    char *text = proto_error_frame(code, message, id, NULL, &n);
    if (retry_after <= 0) {
        if (len)
            *len = n;
        return text;
    }
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(o, "retry_after", json_integer(retry_after));
    return proto_dump(o, len);
}

json_t *proto_time(int64_t t)
{
    return t ? json_integer(t) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void ticket_fields(json_t *o, const struct store_ticket *t)
{
    json_object_set_new(o, "number", json_string(t->number));
    json_object_set_new(o, "status", json_string(t->status));
    json_object_set_new(o, "priority", json_integer(t->priority));
    json_object_set_new(o, "impact", json_integer(t->impact));
    json_object_set_new(o, "urgency", json_integer(t->urgency));
    json_object_set_new(o, "summary", str_or_null(t->summary));
    json_object_set_new(o, "category", str_or_null(t->category));
    json_object_set_new(o, "requester", str_or_null(t->requester_name));
    json_object_set_new(o, "agent", str_or_null(t->agent_name));
    json_object_set_new(o, "created_at", proto_time(t->created_at));
    json_object_set_new(o, "updated_at", proto_time(t->updated_at));
    json_object_set_new(o, "response_due", proto_time(t->response_due));
    json_object_set_new(o, "resolution_due", proto_time(t->resolution_due));
    json_object_set_new(o, "first_response_at", proto_time(t->first_response_at));
    json_object_set_new(o, "resolved_at", proto_time(t->resolved_at));
    json_object_set_new(o, "closed_at", proto_time(t->closed_at));
    json_object_set_new(o, "resolution", str_or_null(t->resolution));
    json_object_set_new(o, "rating", t->rating ? json_integer(t->rating) : json_null());
    /* service levels: null when the ticket has no clock (no SLA data) */
    json_object_set_new(o, "sla",
                        t->sla_state[0] ? json_pack("{s:s, s:s}", "service", t->service,
                                                    "state", t->sla_state)
                                        : json_null());
    json_object_set_new(o, "rating_comment", str_or_null(t->rating_comment));
    json_object_set_new(o, "team", t->team[0] ? json_string(t->team) : json_null());
    json_object_set_new(o, "team_name", str_or_null(t->team_name));
    json_object_set_new(o, "merged_into",
                        t->merged_into[0] ? json_string(t->merged_into) : json_null());
    /* waiting for the requester: why (null unless status is pending) */
    json_object_set_new(o, "pending_reason", str_or_null(t->pending_reason));
    /* the major incident that touches the ticket (its own or the one it is
     * linked to): {"ticket","message","since"}, null if none */
    json_object_set_new(o, "major",
                        t->major[0] ? json_pack("{s:s, s:o, s:o}", "ticket", t->major, "message",
                                                str_or_null(t->major_message), "since",
                                                proto_time(t->major_since))
                                    : json_null());
}

json_t *proto_ticket(const struct store_ticket *t)
{
    json_t *o = json_object();
    ticket_fields(o, t);
    return o;
}

json_t *proto_ticket_frame(const struct store_ticket *t, const char *id)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("ticket"));
    ticket_fields(o, t);
    if (id && *id)
        json_object_set_new(o, "id", json_string(id));
    return o;
}

json_t *proto_hit(const struct kb_hit *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(h->id));
    json_object_set_new(o, "kind", json_string(h->kind));
    json_object_set_new(o, "title", json_string(h->title ? h->title : h->id));
    json_object_set_new(o, "snippet", json_string(h->snippet ? h->snippet : ""));
    json_object_set_new(o, "percent", json_integer(h->percent));
    json_object_set_new(o, "confidence", json_real(round(h->confidence * 1000) / 1000));
    json_object_set_new(o, "visibility",
                        json_string(h->visibility && *h->visibility ? h->visibility : "public"));
    const struct {
        const char *key;
        const char *val;
    } opt[] = {{"category", h->category}, {"workaround", h->workaround},
               {"status", h->status},     {"service", h->service},
               {"updated", h->updated},   {"std", h->std},
               {"standard", h->standard}, {"clause", h->clause},
               {"heading", h->heading},   {"path", h->path}};
    for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
        if (opt[i].val && *opt[i].val)
            json_object_set_new(o, opt[i].key, json_string(opt[i].val));
    return o;
}

json_t *proto_doc(const struct kb_search_doc *d)
{
    char *dj = kb_doc_to_json(d->doc);
    json_t *o = json_loads(dj, 0, NULL);
    free(dj);
    if (!o)
        return NULL;
    if (d->std)
        json_object_set_new(o, "std", json_string(d->std));
    if (d->standard)
        json_object_set_new(o, "standard", json_string(d->standard));
    json_t *refs = json_array();
    for (size_t i = 0; i < d->nrefs; i++)
        json_array_append_new(refs, json_string(d->refs[i]));
    json_object_set_new(o, "refs", refs);
    return o;
}

json_t *proto_message(int with_type, const char *role, const char *name, const char *text,
                      int seq, int64_t at, const char *client_id, const char *ticket)
{
    json_t *o = json_object();
    if (with_type)
        json_object_set_new(o, "type", json_string("message"));
    json_object_set_new(o, "seq", json_integer(seq));
    json_object_set_new(o, "from",
                        json_string(role && strcmp(role, "requester") == 0 ? "requester"
                                                                           : "agent"));
    json_object_set_new(o, "name", json_string(name ? name : ""));
    json_object_set_new(o, "text", json_string(text ? text : ""));
    json_object_set_new(o, "at", proto_time(at));
    if (client_id && *client_id)
        json_object_set_new(o, "id", json_string(client_id));
    if (ticket && *ticket)
        json_object_set_new(o, "ticket", json_string(ticket));
    return o;
}

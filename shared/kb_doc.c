/* kb_doc: lifecycle of the three document kinds and their JSON form, which
 * is what the index stores as document data and what `indexer show`,
 * searchd's /doc and chatdesk return. */
#include "kb_doc.h"
#include "kb_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* One table drives serialisation both ways, so a new field is one line. */
struct field {
    const char *name;
    size_t off;
};
#define F(x) { #x, offsetof(struct kb_doc, x) }
static const struct field fields[] = {
    F(id), F(title), F(body), F(visibility), F(source),
    F(category), F(tags), F(product), F(lang), F(updated),
    F(symptom), F(cause), F(workaround), F(resolution), F(service), F(status),
    F(std_code), F(std_title), F(clause), F(heading), F(path),
};
#undef F
#define NFIELDS (sizeof fields / sizeof fields[0])

static char **slot(struct kb_doc *d, size_t i)
{
    return (char **)((char *)d + fields[i].off);
}

struct kb_doc *kb_doc_new(enum kb_kind kind)
{
    struct kb_doc *d = kb_xcalloc(1, sizeof *d);
    d->kind = kind;
    return d;
}

void kb_doc_free(struct kb_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < NFIELDS; i++)
        free(*slot(doc, i));
    free(doc);
}

static const char *const kind_names[KB_KIND_COUNT] = {"article", "known_error", "standard"};

const char *kb_kind_name(enum kb_kind kind)
{
    return (unsigned)kind < KB_KIND_COUNT ? kind_names[kind] : "unknown";
}

int kb_kind_parse(const char *name)
{
    for (int i = 0; i < KB_KIND_COUNT; i++)
        if (name && strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

void kb_doc_set(char **field, const char *value)
{
    char *copy = kb_xstrdup(value);
    free(*field);
    *field = copy;
}

char *kb_doc_to_json(const struct kb_doc *doc)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kb_kind_name(doc->kind)));
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = *slot((struct kb_doc *)doc, i);
        if (v)
            json_object_set_new(o, fields[i].name, json_string(v));
    }
    if (doc->source_line)
        json_object_set_new(o, "source_line", json_integer(doc->source_line));
    if (doc->body_composed)
        json_object_set_new(o, "body_composed", json_true());
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) { /* only on invalid UTF-8 in a field, which callers prevent */
        s = kb_xstrdup("{}");
        return s;
    }
    char *r = kb_xstrdup(s);
    free(s);
    return r;
}

struct kb_doc *kb_doc_from_json(const char *json, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    if (!o || !json_is_object(o)) {
        kb_seterr(err, errlen, "[doc][json] %s", o ? "not an object" : je.text);
        json_decref(o);
        return NULL;
    }
    int kind = kb_kind_parse(json_string_value(json_object_get(o, "kind")));
    if (kind < 0) {
        kb_seterr(err, errlen, "[doc][json] missing or unknown kind");
        json_decref(o);
        return NULL;
    }
    struct kb_doc *d = kb_doc_new((enum kb_kind)kind);
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = json_string_value(json_object_get(o, fields[i].name));
        if (v)
            kb_doc_set(slot(d, i), v);
    }
    json_t *line = json_object_get(o, "source_line");
    if (json_is_integer(line))
        d->source_line = (int)json_integer_value(line);
    d->body_composed = json_is_true(json_object_get(o, "body_composed"));
    json_decref(o);
    return d;
}

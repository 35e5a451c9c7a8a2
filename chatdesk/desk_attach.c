/* desk_attach: attachments on chat messages over the WebSocket (the
 * "attachments" of the message and reply frames, PROTOCOL.md). Before the
 * message is stored, its attachment ids are checked to be the sender's own
 * uploads not yet attached (else an error frame and nothing is stored);
 * once stored, they are attached to it and their descriptions
 * (attach_json) go out with the frames of that message. */
#include "attach.h"
#include "desk_int.h"
#include "proto.h"
#include "store.h"

int desk_attach_check(struct req *r, int64_t person)
{
    if (r->m->nattach == 0)
        return 0;
    int rc = store_attach_check(r->d->st, person, r->m->attach, r->m->nattach);
    static const struct store_msgs msgs = {
        .notfound = "no such attachment of yours to attach: upload it first (POST "
                    "/api/v1/attachments); each upload goes with one message",
        .invalid = "too many or repeated attachments",
    };
    return desk_store_err(r, rc, &msgs) ? -1 : 0;
}

json_t *desk_attach_link(struct req *r, int64_t person, int64_t conv, int seq)
{
    if (r->m->nattach == 0)
        return NULL;
    int rc = store_attach_to_message(r->d->st, person, r->m->attach, r->m->nattach, conv, seq);
    if (rc) {
        static const struct store_msgs msgs = {
            .notfound = "the message is stored, but its attachments are not: attach them "
                        "to a new message"};
        desk_store_err(r, rc, &msgs);
        return NULL;
    }
    json_t *a = json_array();
    for (int i = 0; i < r->m->nattach; i++) {
        struct store_attachment at;
        if (store_attach_get(r->d->st, r->m->attach[i], person, &at) == 0)
            json_array_append_new(a, attach_json(&at));
    }
    return a;
}

void desk_attach_set(json_t *frame, const json_t *atts)
{
    if (frame && atts && json_array_size(atts) > 0)
        json_object_set_new(frame, "attachments", json_deep_copy(atts));
}

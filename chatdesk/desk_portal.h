/* desk_portal: a requester's identity beyond one browser tab (see
 * desk_portal.c and PROTOCOL.md, "Requesters: private links, e-mail
 * sign-in, my tickets"): what the JSON API shares with the WebSocket
 * handlers. */
#ifndef CD_DESK_PORTAL_H
#define CD_DESK_PORTAL_H

#include "desk.h"

/* Every ticket of requester person, newest first, as a JSON array of
 * ticket objects (PROTOCOL.md's) each with "rating_comment" and
 * "messages" (the whole conversation, as the requester sees it). Returns 0
 * with *out (a new reference), or a STORE_E* code with *out NULL. */
int desk_my_tickets(struct desk *d, int64_t person, json_t **out);

#endif

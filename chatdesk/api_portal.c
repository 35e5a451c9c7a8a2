/* api_portal: the requester's own tickets through the JSON API
 * (GET /api/v1/me/tickets), the same list as the WebSocket's my_tickets
 * (desk_my_tickets): only the token's person's tickets, ever. */
#include "api.h"
#include "desk_portal.h"

void api_me_tickets(struct api_ctx *ctx)
{
    if (ctx->who->role != DESK_REQUESTER) {
        api_response_error(ctx->resp, 403, "forbidden",
                           "my tickets are a requester's: agents use /api/v1/tickets/{number}");
        return;
    }
    json_t *list;
    int rc = desk_my_tickets(ctx->d, ctx->who->person_id, &list);
    if (rc == STORE_EDB) {
        api_response_error(ctx->resp, 503, "db_unavailable",
                           "the database is unavailable: retry shortly");
        return;
    }
    if (rc) {
        api_response_error(ctx->resp, 500, "internal", "internal error");
        return;
    }
    api_response_json(ctx->resp, 200, json_pack("{s:o}", "tickets", list));
}

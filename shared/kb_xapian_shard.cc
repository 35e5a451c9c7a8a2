/* kb_xapian_shard: databases opened as several shards searched as one
 * (kbx_db_open_shards in kb_xapian.h): local folders and remote databases
 * served by xapian-tcpsrv (Xapian::Remote::open), joined with
 * Database::add_database so that Xapian ranks one list with statistics
 * over every shard. Each shard keeps its own handle; the union is rebuilt
 * from the shards up whenever one goes down (it fails to reopen, or a
 * search on the union fails and a probe of each shard finds it dead) or
 * comes back (retried at each reopen, at most every KBX_SHARD_RETRY_MS).
 * Xapian's remote timeouts bound every probe, so a dead shard costs at
 * most timeout_ms, never a hang. Same exception rules as kb_xapian.cc. */
#include "kb_xapian_int.h"

#include <chrono>

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/* Splits tcp:HOST:PORT; false when spec is not of that form. */
bool parse_remote(const std::string &spec, std::string &host, unsigned &port) {
    if (spec.compare(0, 4, "tcp:") != 0) return false;
    size_t colon = spec.rfind(':');
    if (colon <= 4) return false;
    host = spec.substr(4, colon - 4);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string p = spec.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
        return false;
    port = static_cast<unsigned>(std::stoul(p));
    return !host.empty() && port > 0 && port < 65536;
}

/* Opens one shard; on failure records why and when to retry. */
void shard_open(Shard &s, unsigned timeout_ms) noexcept {
    double t0 = now_s();
    try {
        std::string host;
        unsigned port = 0;
        if (parse_remote(s.spec, host, port))
            s.db.reset(new Xapian::Database(
                Xapian::Remote::open(host, port, timeout_ms, timeout_ms)));
        else
            s.db.reset(new Xapian::Database(s.spec));
        s.why.clear();
        return;
    } catch (const Xapian::Error &e) {
        try {
            s.why = e.get_description();
        } catch (...) {
        }
    } catch (const std::exception &e) {
        try {
            s.why = e.what();
        } catch (...) {
        }
    } catch (...) {
    }
    s.db.reset();
    double now = now_s();
    bool hung = now - t0 >= timeout_ms / 2000.0;
    s.retry_at = now + (hung ? KBX_SHARD_HUNG_RETRY_MS : KBX_SHARD_RETRY_MS) / 1000.0;
}

/* Marks a shard down after the exception being handled; t0 is when the
   failed call started. A quick failure (connection closed or refused) is
   retried after KBX_SHARD_RETRY_MS; a slow one (the server hangs: the call
   ran into the timeout) after KBX_SHARD_HUNG_RETRY_MS, so that a hung
   server does not cost every refresh a timeout. */
void shard_down(Shard &s, double t0, unsigned timeout_ms) noexcept {
    try {
        throw;
    } catch (const Xapian::Error &e) {
        try {
            s.why = e.get_description();
        } catch (...) {
        }
    } catch (...) {
        try {
            s.why = "unknown failure";
        } catch (...) {
        }
    }
    try {
        s.db.reset();
    } catch (...) {
    }
    double now = now_s();
    bool hung = now - t0 >= timeout_ms / 2000.0;
    s.retry_at = now + (hung ? KBX_SHARD_HUNG_RETRY_MS : KBX_SHARD_RETRY_MS) / 1000.0;
}

/* A shard's call failed at once (closed connection: the server closed an
   idle one or restarted): worth one new connection now. */
bool quick_failure(const Shard &s) {
    return s.retry_at - now_s() <= KBX_SHARD_RETRY_MS / 1000.0;
}

/* Rebuilds db's union from the shards up. May throw. */
void rebuild(kbx_db *db) {
    std::unique_ptr<Xapian::Database> u(new Xapian::Database());
    for (Shard &s : db->shards->v)
        if (s.db) u->add_database(*s.db);
    db->db = std::move(u);
    db->facets.reset();
}

}  // namespace

uint64_t shard_revision(kbx_db *db) {
    uint64_t sum = 0, mask = 0;
    const std::vector<Shard> &v = db->shards->v;
    for (size_t i = 0; i < v.size(); i++) {
        if (!v[i].db) continue;
        mask |= uint64_t(1) << i;
        sum += v[i].remote ? v[i].gen : v[i].db->get_revision();
    }
    return (sum << KBX_MAX_SHARDS) | mask;
}

int shard_reopen(kbx_db *db, int *changed) {
    ShardSet &set = *db->shards;
    bool moved = set.dirty;
    double now = now_s();
    for (Shard &s : set.v) {
        if (s.db) {
            double t0 = now_s();
            try {
                if (s.db->reopen()) {
                    s.gen++;
                    moved = true;
                }
            } catch (...) {
                /* a remote server closes idle connections and may have
                   restarted: one new connection before giving up */
                shard_down(s, t0, set.timeout_ms);
                if (quick_failure(s)) shard_open(s, set.timeout_ms);
                moved = true;
            }
        } else if (now >= s.retry_at) {
            shard_open(s, set.timeout_ms);
            moved |= s.db != nullptr;
        }
    }
    if (moved) rebuild(db);
    set.dirty = false;
    if (changed) *changed = moved;
    return 0;
}

bool shard_drop_failed(kbx_db *db) noexcept {
    bool dropped = false;
    for (Shard &s : db->shards->v) {
        if (!s.db) continue;
        double t0 = now_s();
        try {
            s.db->reopen();
            (void)s.db->get_doccount();
        } catch (...) {
            shard_down(s, t0, db->shards->timeout_ms);
            if (quick_failure(s)) shard_open(s, db->shards->timeout_ms); /* as in shard_reopen */
            dropped = true;
        }
    }
    if (!dropped) return false;
    try {
        rebuild(db);
    } catch (...) {
        return false;
    }
    db->shards->dirty = true;
    return true;
}

extern "C" {

int kbx_db_open_shards(const char *const *specs, size_t n, unsigned timeout_ms, kbx_db **out,
                       char *err, size_t errlen) {
    Sink sk = sink_buf(err, errlen);
    sink_clear(sk);
    if (out) *out = nullptr;
    if (!specs || !out || n == 0 || n > KBX_MAX_SHARDS)
        return fail(sk, KBX_ERR_INVALID, "invalid argument: 1 to KBX_MAX_SHARDS shards needed");
    try {
        std::unique_ptr<kbx_db> h(new kbx_db);
        h->shards.reset(new ShardSet);
        h->shards->timeout_ms = timeout_ms ? timeout_ms : 10000;
        for (size_t i = 0; i < n; i++) {
            if (!specs[i] || !*specs[i])
                return fail(sk, KBX_ERR_INVALID, "invalid argument: empty shard spec");
            Shard s;
            s.spec = specs[i];
            std::string host;
            unsigned port;
            if (s.spec.compare(0, 4, "tcp:") == 0) {
                if (!parse_remote(s.spec, host, port)) {
                    char msg[300];
                    std::snprintf(msg, sizeof msg, "bad remote shard '%.200s' (tcp:HOST:PORT)",
                                  specs[i]);
                    return fail(sk, KBX_ERR_INVALID, msg);
                }
                h->shards->remote = true;
                s.remote = true;
            }
            h->shards->v.push_back(std::move(s));
        }
        for (Shard &s : h->shards->v) shard_open(s, h->shards->timeout_ms);
        rebuild(h.get());
        *out = h.release();
        return 0;
    }
    KBX_CATCH(sk)
}

size_t kbx_db_shard_count(const kbx_db *db) {
    return db && db->shards ? db->shards->v.size() : 0;
}

const char *kbx_db_shard(const kbx_db *db, size_t i, const char **why) {
    if (why) *why = nullptr;
    if (!db || !db->shards || i >= db->shards->v.size()) return nullptr;
    const Shard &s = db->shards->v[i];
    if (why && !s.db) *why = s.why.empty() ? "down" : s.why.c_str();
    return s.spec.c_str();
}

int kbx_db_has_remote(const kbx_db *db) {
    return db && db->shards && db->shards->remote;
}

}  // extern "C"

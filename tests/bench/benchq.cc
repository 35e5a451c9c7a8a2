// benchq: query latency of kbdesk's search core and of the baselines, one
// query at a time in one thread, over the query log tests/bench/queries.txt.
//
//   benchq --engine E (--index DIR | --db CONNINFO) --queries FILE
//          [--repeat N] [--max N] [--warm N] [--timeout-ms N] [--raw FILE]
//          [--ranks FILE] [--block-map 0|1]
//
// Engines
//   kbdesk      kb_search_run (limit 10, public documents, snippets and
//               facets as searchd computes them) on the kbdesk index.
//   kbdesk-nofacets  the same with req.no_facets = 1 (a diagnostic: no
//               match spies, no check_at_least of 2,000).
//   kbdesk-lean the same with no_facets and no_suggestion: what searchd's
//               /search computes when the request asks for neither.
//   kbdesk-allor  kbdesk with every word of the query in the candidates'
//               OR, common ones too (kb_searcher_set_common(s, 0, 0): a
//               diagnostic, the search as it was before that rule).
//   xapian-qp   Xapian::QueryParser, FLAG_DEFAULT|FLAG_CJK_NGRAM, English
//               stemmer (STEM_SOME), default operator, BM25, top 10, on the
//               scriptindex database (a parse error counts as an error).
//   xapian-bag  the query's CJK n-grams and words (TermGenerator with
//               FLAG_CJK_NGRAM) ORed, BM25, top 10, same database.
//   pg-fts      PostgreSQL: tsv @@ plainto_tsquery('simple', q) ranked by
//               ts_rank, top 10 (terms ANDed).
//   pg-fts-or   the same with the tsquery's terms ORed.
//   pg-trgm     pg_trgm: txt %> q (word_similarity above the threshold,
//               GIN-indexed) ordered by word_similarity, top 10.
//   groonga     Groonga's HTTP server (--index http://127.0.0.1:PORT):
//               /d/select on table Docs, --query with the text (its query
//               syntax's operators \ " ( ) + - < > ~ * escaped, so every
//               query is valid; --query_flags NONE: no column or
//               pragma syntax), match_columns 'title * 10 || body', sorted
//               by -_score, top 10; one keep-alive connection (libcurl).
//   sphinx      Sphinx searchd through SphinxQL (--db HOST:PORT, the MySQL
//               protocol): SELECT key FROM docs WHERE MATCH(text with the
//               extended syntax's operators escaped) LIMIT 10 (the default
//               ranker, proximity_bm25; the terms ANDed).
// PostgreSQL statements are prepared once; --timeout-ms sets
// statement_timeout (a timed-out query counts as a timeout, with the
// timeout as its latency).
//
// --clients N --seconds S: a throughput run instead: N threads, each with
// its own engine (its own connection), cycling through the queries from
// different starting points for S seconds, one query at a time each (a
// closed loop, as wrk's connections); prints one JSON line in wrk.lua's
// shape (requests, rps, p50/p90/p99/mean/max in ms, errors as
// err_status, timeouts as err_timeout).
//
// --block-map 1 reads the index tables through read-only mappings, as
// searchd does by default (shared/kb_blockmap.h); 0 through pread. The
// default is 1 for the kbdesk engines and 0 for the others, so the Xapian
// baselines read their tables as Xapian does.
//
// Each query line is "type<TAB>lang<TAB>source-id<TAB>query". --warm N runs
// the first N queries once untimed; then all (or --max) queries run --repeat
// times. Output: one JSON object on stdout with, per repeat, p50/p90/p99/
// mean/max in milliseconds and queries/s, and once the known-item figures
// (hit@10 and MRR@10 of the query's source document, from the first
// repeat), zero-hit queries, errors and timeouts. --raw FILE writes every
// timed query as a line: latency (ms), a tab, the number of results, in
// query order, repeat after repeat. --ranks FILE writes, for every query of
// the first repeat, the known item's rank (1-10, 0 when not in the top 10),
// the query's type, language, source and text and the top three ids, tab
// separated, and for kbdesk the correction it searched instead, if any (tests/bench/known.sh compares two engines' files).

extern "C" {
#include "kb_blockmap.h"
#include "kb_lexicon.h"
#include "kb_search.h"
}

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <mariadb/mysql.h>
#include <xapian.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Query {
    std::string type, lang, source, text;
};

struct Result {
    std::vector<std::string> ids;
    std::string corrected; /* kbdesk: the query it searched instead */
    bool error = false, timeout = false;
};

[[noreturn]] void die(const std::string &m)
{
    std::fprintf(stderr, "benchq: %s\n", m.c_str());
    std::exit(2);
}

std::vector<Query> load_queries(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        die(path + ": cannot read");
    std::vector<Query> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        Query q;
        std::vector<std::string> f;
        size_t a = 0;
        for (int i = 0; i < 3; i++) {
            size_t t = line.find('\t', a);
            if (t == std::string::npos)
                die(path + ": bad line: " + line);
            f.push_back(line.substr(a, t - a));
            a = t + 1;
        }
        q.type = f[0];
        q.lang = f[1];
        q.source = f[2];
        q.text = line.substr(a);
        out.push_back(q);
    }
    return out;
}

class Engine {
  public:
    virtual ~Engine() = default;
    virtual Result run(const std::string &q) = 0;
};

class KbEngine : public Engine {
    kb_lexicon *lx;
    kb_searcher *s = nullptr;
    bool no_facets, no_suggestion;

  public:
    KbEngine(const std::string &index, bool no_facets_, bool no_suggestion_, bool all_or)
        : no_facets(no_facets_), no_suggestion(no_suggestion_)
    {
        lx = kb_lexicon_new_builtin();
        char err[512];
        if (kb_searcher_new(index.c_str(), lx, &s, err, sizeof err) != 0)
            die(std::string("kbdesk: ") + err);
        if (all_or)
            kb_searcher_set_common(s, 0, 0);
    }
    ~KbEngine() override
    {
        kb_searcher_free(s);
        kb_lexicon_free(lx);
    }
    Result run(const std::string &q) override
    {
        Result r;
        struct kb_search_req req;
        std::memset(&req, 0, sizeof req);
        req.q = q.data();
        req.qlen = q.size();
        req.limit = 10;
        req.no_facets = no_facets;
        req.no_suggestion = no_suggestion;
        struct kb_search_res res;
        std::memset(&res, 0, sizeof res);
        char err[512];
        if (kb_search_run(s, &req, &res, err, sizeof err) != 0) {
            r.error = true;
        } else {
            for (size_t i = 0; i < res.nhits; i++)
                r.ids.push_back(res.hits[i].id);
            if (res.corrected)
                r.corrected = res.corrected;
        }
        kb_search_res_fin(&res);
        return r;
    }
};

class XapianEngine : public Engine {
    Xapian::Database db;
    bool bag;

    static std::string doc_id(const Xapian::Document &d)
    {
        // scriptindex stores "name=value" lines, sorted by name (body may
        // span lines): find the line starting with "id="
        std::string data = d.get_data();
        size_t at = data.compare(0, 3, "id=") == 0 ? 0 : data.find("\nid=");
        if (at == std::string::npos)
            return "";
        at += at == 0 ? 3 : 4;
        size_t nl = data.find('\n', at);
        return data.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    }

  public:
    XapianEngine(const std::string &index, bool bag_) : db(index), bag(bag_) {}
    Result run(const std::string &text) override
    {
        Result r;
        Xapian::Query q;
        if (bag) {
            Xapian::Document scratch;
            Xapian::TermGenerator tg;
            tg.set_stemmer(Xapian::Stem("english"));
            tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
            tg.set_flags(Xapian::TermGenerator::FLAG_CJK_NGRAM);
            tg.set_document(scratch);
            tg.index_text(text);
            std::vector<Xapian::Query> terms;
            for (Xapian::TermIterator t = scratch.termlist_begin(); t != scratch.termlist_end(); ++t)
                terms.emplace_back(*t);
            q = Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end());
        } else {
            Xapian::QueryParser qp;
            qp.set_database(db);
            qp.set_stemmer(Xapian::Stem("english"));
            qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
            try {
                q = qp.parse_query(text, Xapian::QueryParser::FLAG_DEFAULT |
                                             Xapian::QueryParser::FLAG_CJK_NGRAM);
            } catch (const Xapian::Error &) {
                r.error = true;
                return r;
            }
        }
        try {
            Xapian::Enquire enq(db);
            enq.set_query(q);
            enq.set_weighting_scheme(Xapian::BM25Weight());
            Xapian::MSet m = enq.get_mset(0, 10);
            for (Xapian::MSetIterator i = m.begin(); i != m.end(); ++i)
                r.ids.push_back(doc_id(i.get_document()));
        } catch (const Xapian::Error &) {
            r.error = true;
        }
        return r;
    }
};

class PgEngine : public Engine {
    PGconn *c;

  public:
    PgEngine(const std::string &conninfo, const std::string &engine, int timeout_ms)
    {
        c = PQconnectdb(conninfo.c_str());
        if (PQstatus(c) != CONNECTION_OK)
            die(std::string("PostgreSQL: ") + PQerrorMessage(c));
        std::string sql;
        if (engine == "pg-fts")
            sql = "SELECT id FROM docs, plainto_tsquery('simple', $1) q WHERE tsv @@ q "
                  "ORDER BY ts_rank(tsv, q) DESC LIMIT 10";
        else if (engine == "pg-fts-or")
            sql = "SELECT id FROM docs, "
                  "(SELECT replace(plainto_tsquery('simple', $1)::text, ' & ', ' | ')::tsquery AS q) t "
                  "WHERE tsv @@ t.q ORDER BY ts_rank(tsv, t.q) DESC LIMIT 10";
        else
            sql = "SELECT id FROM docs WHERE (title || ' ' || body) %> $1 "
                  "ORDER BY word_similarity($1, title || ' ' || body) DESC LIMIT 10";
        char set[128];
        std::snprintf(set, sizeof set, "SET statement_timeout = %d", timeout_ms);
        PQclear(PQexec(c, set));
        PGresult *p = PQprepare(c, "q", sql.c_str(), 1, nullptr);
        if (PQresultStatus(p) != PGRES_COMMAND_OK)
            die(std::string("prepare: ") + PQerrorMessage(c));
        PQclear(p);
    }
    ~PgEngine() override { PQfinish(c); }
    Result run(const std::string &q) override
    {
        Result r;
        const char *v[1] = {q.c_str()};
        PGresult *p = PQexecPrepared(c, "q", 1, v, nullptr, nullptr, 0);
        if (PQresultStatus(p) == PGRES_TUPLES_OK) {
            for (int i = 0; i < PQntuples(p); i++)
                r.ids.push_back(PQgetvalue(p, i, 0));
        } else {
            const char *state = PQresultErrorField(p, PG_DIAG_SQLSTATE);
            if (state && std::strcmp(state, "57014") == 0)
                r.timeout = true;
            else
                r.error = true;
        }
        PQclear(p);
        return r;
    }
};

class GroongaEngine : public Engine {
    std::string base;
    CURL *h;
    std::string body;

    static size_t collect(char *p, size_t sz, size_t n, void *ud)
    {
        static_cast<std::string *>(ud)->append(p, sz * n);
        return sz * n;
    }

  public:
    GroongaEngine(const std::string &url, int timeout_ms) : base(url)
    {
        h = curl_easy_init();
        if (!h)
            die("curl_easy_init");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    ~GroongaEngine() override { curl_easy_cleanup(h); }
    Result run(const std::string &text) override
    {
        Result r;
        std::string q;
        for (char ch : text) {
            if (std::strchr("\\\"()+-<>~*", ch) && ch)
                q += '\\';
            q += ch;
        }
        char *eq = curl_easy_escape(h, q.data(), (int)q.size());
        std::string url = base + "/d/select?table=Docs&match_columns=title+*+10+%7C%7C+body"
                                 "&output_columns=_key&limit=10&sort_keys=-_score"
                                 "&query_flags=NONE&query=" + eq;
        curl_free(eq);
        body.clear();
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            r.timeout = rc == CURLE_OPERATION_TIMEDOUT;
            r.error = !r.timeout;
            return r;
        }
        // [[status, start, elapsed], [[[n], [columns], [key], ...]]]
        json_t *j = json_loadb(body.data(), body.size(), 0, nullptr);
        json_t *head = json_array_get(j, 0);
        json_t *recs = json_array_get(json_array_get(j, 1), 0);
        if (!j || json_integer_value(json_array_get(head, 0)) != 0 || !recs) {
            r.error = true;
        } else {
            for (size_t i = 2; i < json_array_size(recs); i++)
            {
                const char *id = json_string_value(json_array_get(json_array_get(recs, i), 0));
                r.ids.push_back(id ? id : "");
            }
        }
        json_decref(j);
        return r;
    }
};

class SphinxEngine : public Engine {
    MYSQL *c;

  public:
    SphinxEngine(const std::string &hostport, int timeout_ms)
    {
        c = mysql_init(nullptr);
        size_t colon = hostport.rfind(':');
        std::string host = hostport.substr(0, colon);
        unsigned port = (unsigned)std::atoi(hostport.c_str() + colon + 1);
        unsigned t = (unsigned)(timeout_ms + 999) / 1000;
        mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
        if (!mysql_real_connect(c, host.c_str(), nullptr, nullptr, nullptr, port, nullptr, 0))
            die(std::string("SphinxQL: ") + mysql_error(c));
    }
    ~SphinxEngine() override { mysql_close(c); }
    Result run(const std::string &text) override
    {
        Result r;
        // the extended query syntax's operators escaped with a backslash,
        // then the SQL string literal's quote and backslash escaped
        std::string m;
        for (char ch : text) {
            if (std::strchr("\\()|-!@~\"&/^$=<>*[]:", ch) && ch)
                m += '\\';
            m += ch;
        }
        std::string lit;
        for (char ch : m) {
            if (ch == '\\' || ch == '\'')
                lit += '\\';
            lit += ch;
        }
        std::string sql = "SELECT key FROM docs WHERE MATCH('" + lit + "') LIMIT 10";
        if (mysql_real_query(c, sql.data(), sql.size()) != 0) {
            r.error = true;
            return r;
        }
        MYSQL_RES *res = mysql_store_result(c);
        if (!res) {
            r.error = true;
            return r;
        }
        while (MYSQL_ROW row = mysql_fetch_row(res))
            r.ids.push_back(row[0] ? row[0] : "");
        mysql_free_result(res);
        return r;
    }
};

double pct(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t i = (size_t)std::ceil(p / 100.0 * v.size());
    if (i > 0)
        i--;
    return v[std::min(i, v.size() - 1)];
}

} // namespace

int main(int argc, char **argv)
{
    std::string engine, index, db, queries, raw, ranks;
    int repeat = 3, maxq = 0, warm = 200, timeout_ms = 5000, clients = 0, block_map = -1;
    double seconds = 0;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                die("missing value for " + a);
            return argv[++i];
        };
        if (a == "--engine")
            engine = next();
        else if (a == "--index")
            index = next();
        else if (a == "--db")
            db = next();
        else if (a == "--queries")
            queries = next();
        else if (a == "--repeat")
            repeat = std::atoi(next().c_str());
        else if (a == "--max")
            maxq = std::atoi(next().c_str());
        else if (a == "--warm")
            warm = std::atoi(next().c_str());
        else if (a == "--timeout-ms")
            timeout_ms = std::atoi(next().c_str());
        else if (a == "--raw")
            raw = next();
        else if (a == "--ranks")
            ranks = next();
        else if (a == "--clients")
            clients = std::atoi(next().c_str());
        else if (a == "--seconds")
            seconds = std::atof(next().c_str());
        else if (a == "--block-map")
            block_map = std::atoi(next().c_str());
        else
            die("unknown argument " + a);
    }
    if (engine.empty() || queries.empty())
        die("usage: benchq --engine E (--index DIR | --db CONNINFO) --queries FILE [...]");
    if (block_map < 0)
        block_map = engine.rfind("kbdesk", 0) == 0;
    kb_blockmap_set(block_map); /* before any index is opened */
    std::vector<Query> qs = load_queries(queries);
    if (maxq > 0 && (size_t)maxq < qs.size())
        qs.resize(maxq);
    auto make = [&]() -> Engine * {
        if (engine == "kbdesk" || engine == "kbdesk-nofacets" || engine == "kbdesk-lean" ||
            engine == "kbdesk-allor")
            return new KbEngine(index, engine == "kbdesk-nofacets" || engine == "kbdesk-lean",
                                engine == "kbdesk-lean", engine == "kbdesk-allor");
        if (engine == "xapian-qp" || engine == "xapian-bag")
            return new XapianEngine(index, engine == "xapian-bag");
        if (engine == "pg-fts" || engine == "pg-fts-or" || engine == "pg-trgm")
            return new PgEngine(db, engine, timeout_ms);
        if (engine == "groonga")
            return new GroongaEngine(index, timeout_ms);
        if (engine == "sphinx")
            return new SphinxEngine(db, timeout_ms);
        die("unknown engine " + engine);
    };
    if (clients > 0) {
        if (seconds <= 0 || qs.empty())
            die("--clients needs --seconds and queries");
        std::vector<Engine *> es;
        for (int c = 0; c < clients; c++)
            es.push_back(make());
        std::vector<std::vector<double>> lats(clients);
        std::vector<size_t> errs(clients), touts(clients);
        std::atomic<bool> stop(false);
        std::vector<std::thread> th;
        auto t0 = std::chrono::steady_clock::now();
        for (int c = 0; c < clients; c++)
            th.emplace_back([&, c]() {
                for (size_t i = (size_t)c * 977 % qs.size(); !stop.load(); i = (i + 1) % qs.size()) {
                    auto a = std::chrono::steady_clock::now();
                    Result res = es[c]->run(qs[i].text);
                    lats[c].push_back(std::chrono::duration<double, std::milli>(
                                          std::chrono::steady_clock::now() - a).count());
                    errs[c] += res.error;
                    touts[c] += res.timeout;
                }
            });
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        stop = true;
        for (auto &t : th)
            t.join();
        double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::vector<double> all;
        size_t ne = 0, nt = 0;
        for (int c = 0; c < clients; c++) {
            all.insert(all.end(), lats[c].begin(), lats[c].end());
            ne += errs[c];
            nt += touts[c];
            delete es[c];
        }
        double sum = 0, mx = 0;
        for (double x : all) {
            sum += x;
            mx = std::max(mx, x);
        }
        std::printf("{\"requests\":%zu,\"duration_s\":%.3f,\"rps\":%.1f,\"p50\":%.3f,\"p90\":%.3f,"
                    "\"p99\":%.3f,\"mean\":%.3f,\"max\":%.3f,\"err_connect\":0,\"err_read\":0,"
                    "\"err_write\":0,\"err_status\":%zu,\"err_timeout\":%zu}\n",
                    all.size(), wall, all.size() / wall, pct(all, 50), pct(all, 90), pct(all, 99),
                    all.empty() ? 0 : sum / all.size(), mx, ne, nt);
        return 0;
    }
    Engine *e = make();

    for (int i = 0; i < warm && i < (int)qs.size(); i++)
        e->run(qs[i].text);

    std::FILE *rf = raw.empty() ? nullptr : std::fopen(raw.c_str(), "w");
    std::FILE *kf = ranks.empty() ? nullptr : std::fopen(ranks.c_str(), "w");
    if ((!raw.empty() && !rf) || (!ranks.empty() && !kf))
        die("cannot write " + ((!ranks.empty() && !kf) ? ranks : raw));
    std::ostringstream reps;
    size_t hits10 = 0, known = 0, zero = 0, errors = 0, timeouts = 0;
    double rr = 0;
    for (int r = 0; r < repeat; r++) {
        std::vector<double> lat;
        lat.reserve(qs.size());
        auto t_all = std::chrono::steady_clock::now();
        for (const Query &q : qs) {
            auto t0 = std::chrono::steady_clock::now();
            Result res = e->run(q.text);
            auto t1 = std::chrono::steady_clock::now();
            double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
            lat.push_back(ms);
            if (rf) /* latency and result count, so a report can compare engines on
                       the queries both answered */
                std::fprintf(rf, "%.4f\t%zu\n", ms, res.ids.size());
            if (r == 0) {
                if (res.error)
                    errors++;
                if (res.timeout)
                    timeouts++;
                if (res.ids.empty())
                    zero++;
                size_t rank = 0;
                if (!q.source.empty() && q.source != "-") {
                    known++;
                    for (size_t k = 0; k < res.ids.size() && k < 10; k++)
                        if (res.ids[k] == q.source) {
                            hits10++;
                            rr += 1.0 / (k + 1);
                            rank = k + 1;
                            break;
                        }
                }
                if (kf) {
                    std::fprintf(kf, "%zu\t%s\t%s\t%s\t%s", rank, q.type.c_str(), q.lang.c_str(),
                                 q.source.c_str(), q.text.c_str());
                    for (size_t k = 0; k < 3; k++)
                        std::fprintf(kf, "\t%s", k < res.ids.size() ? res.ids[k].c_str() : "-");
                    if (!res.corrected.empty())
                        std::fprintf(kf, "\tcorrected: %s", res.corrected.c_str());
                    std::fputc('\n', kf);
                }
            }
        }
        double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
        double sum = 0, mx = 0;
        for (double x : lat) {
            sum += x;
            mx = std::max(mx, x);
        }
        if (r)
            reps << ",";
        reps << "{\"p50\":" << pct(lat, 50) << ",\"p90\":" << pct(lat, 90) << ",\"p99\":" << pct(lat, 99)
             << ",\"mean\":" << sum / lat.size() << ",\"max\":" << mx << ",\"qps\":" << lat.size() / wall
             << "}";
    }
    if (rf)
        std::fclose(rf);
    if (kf)
        std::fclose(kf);
    delete e;
    std::printf("{\"engine\":\"%s\",\"queries\":%zu,\"repeats\":[%s],\"known\":%zu,\"hit10\":%.4f,"
                "\"mrr10\":%.4f,\"zero_hits\":%zu,\"errors\":%zu,\"timeouts\":%zu}\n",
                engine.c_str(), qs.size(), reps.str().c_str(), known,
                known ? (double)hits10 / known : 0.0, known ? rr / known : 0.0, zero, errors, timeouts);
    return 0;
}

// kbeval: relevance evaluation of kbdesk's search core against two plain
// Xapian baselines, on the demo corpus and the judged queries in
// tests/eval/queries.tsv.
//
//   kbeval --corpus DIR --index DIR --work DIR --queries FILE [--out FILE] [--check]
//   kbeval --engine kbdesk|qp|bag --query TEXT --index DIR [--corpus DIR --work DIR]
//
// Engines
//   qp      baseline (a): Xapian::QueryParser with FLAG_DEFAULT|FLAG_CJK_NGRAM,
//           english stemmer, STEM_SOME, default operator (a CJK run becomes
//           an AND of all its n-grams). A parse error counts as no results.
//   bag     baseline (b): the terms Xapian::TermGenerator (FLAG_CJK_NGRAM)
//           makes of the query text (CJK unigrams and bigrams, Latin words
//           and their stems), ORed and ranked by BM25: what Elasticsearch's
//           cjk analyzer does with a match query's default OR operator.
//   kbdesk  the real search core (kb_search_run, internal=1, limit 10) on
//           the index the kbdesk indexer built from the same corpus.
// Both baselines index the same documents, read with the project's own
// parsers (kb_md_parse, kb_std_parse; same files and ids as the indexer), as
// one plain text each (title and every text field): no segmentation, no
// glossary, no field weights. They are rebuilt in --work on every run.
//
// Measures (per query, then averaged): Success@1 (the first hit is a grade-2
// document), MRR@10 (reciprocal rank of the first grade-2 document in the top
// 10), nDCG@10 (gain 2^grade - 1, log2(rank + 1) discount, ideal ranking from
// the judged grades).
//
// Exit status: 0; 1 with --check when kbdesk does not beat the stronger
// baseline on every overall measure; 2 on a usage, input or index error.

extern "C" {
#include "kb_doc.h"
#include "kb_lexicon.h"
#include "kb_md.h"
#include "kb_search.h"
#include "kb_stdparse.h"
}

#include <xapian.h>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---- corpus -------------------------------------------------------------

struct Doc {
    std::string id, title, kind, text;
};

struct Corpus {
    std::vector<Doc> docs;
    std::map<std::string, size_t> by_id;
};

bool ends_with(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The indexer's rules: *.md anywhere except README.md, *.txt directly in a
// folder named "standards"; names starting with "." are skipped.
bool is_std_file(const std::string &rel)
{
    size_t slash = rel.rfind('/');
    if (!ends_with(rel, ".txt") || slash == std::string::npos)
        return false;
    size_t start = rel.rfind('/', slash == 0 ? 0 : slash - 1);
    start = (start == std::string::npos || start >= slash) ? 0 : start + 1;
    return rel.compare(start, slash - start, "standards") == 0 && slash - start == 9;
}

bool wanted(const std::string &rel, const std::string &name)
{
    if (name.empty() || name[0] == '.')
        return false;
    if (ends_with(name, ".md"))
        return name != "README.md";
    return is_std_file(rel);
}

void walk(const std::string &root, const std::string &rel, std::vector<std::string> &out)
{
    std::string dir = rel.empty() ? root : root + "/" + rel;
    DIR *d = opendir(dir.c_str());
    if (!d)
        throw std::runtime_error(dir + ": " + std::strerror(errno));
    std::vector<std::string> names;
    while (struct dirent *e = readdir(d))
        if (e->d_name[0] != '.')
            names.push_back(e->d_name);
    closedir(d);
    for (const std::string &name : names) {
        std::string r = rel.empty() ? name : rel + "/" + name;
        std::string full = root + "/" + r;
        struct stat sb;
        if (stat(full.c_str(), &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            walk(root, r, out);
        else if (S_ISREG(sb.st_mode) && wanted(r, name))
            out.push_back(r);
    }
}

std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error(path + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void add_field(std::string &text, const char *v)
{
    if (!v || !*v)
        return;
    if (!text.empty())
        text += '\n';
    text += v;
}

Doc plain_doc(const struct kb_doc *d)
{
    Doc o;
    o.id = d->id ? d->id : "";
    o.title = d->title ? d->title : "";
    o.kind = kb_kind_name(d->kind);
    // title + every text field, one plain text
    const char *fields[] = {d->title,   d->body,       d->category, d->tags,     d->product,
                            d->symptom, d->cause,      d->workaround, d->resolution, d->service,
                            d->std_code, d->std_title, d->clause,   d->heading,  d->path};
    for (const char *f : fields)
        add_field(o.text, f);
    return o;
}

int collect_cb(void *ud, struct kb_doc *d)
{
    auto *v = static_cast<std::vector<struct kb_doc *> *>(ud);
    v->push_back(d);
    return 0;
}

Corpus load_corpus(const std::string &root)
{
    std::vector<std::string> files;
    walk(root, "", files);
    std::sort(files.begin(), files.end());
    Corpus c;
    for (const std::string &rel : files) {
        std::string text = read_file(root + "/" + rel);
        std::vector<struct kb_doc *> docs;
        char err[512] = "";
        if (is_std_file(rel)) {
            if (kb_std_parse(text.data(), text.size(), rel.c_str(), collect_cb, &docs, err,
                             sizeof err) != 0) {
                std::fprintf(stderr, "kbeval: %s/%s: %s (skipped)\n", root.c_str(), rel.c_str(), err);
                continue;
            }
        } else {
            struct kb_doc *d = nullptr;
            int line = 0;
            if (kb_md_parse(text.data(), text.size(), rel.c_str(), &d, &line, err, sizeof err) < 0) {
                std::fprintf(stderr, "kbeval: %s/%s:%d: %s (skipped)\n", root.c_str(), rel.c_str(), line,
                             err);
                continue;
            }
            docs.push_back(d);
        }
        // like the indexer: a file with an id already taken is skipped whole
        std::set<std::string> mine;
        bool dup = false;
        for (struct kb_doc *d : docs) {
            std::string id = d->id ? d->id : "";
            if (c.by_id.count(id) || !mine.insert(id).second)
                dup = true;
        }
        if (dup)
            std::fprintf(stderr, "kbeval: %s/%s: duplicate id (skipped)\n", root.c_str(), rel.c_str());
        for (struct kb_doc *d : docs) {
            if (!dup) {
                c.by_id[d->id] = c.docs.size();
                c.docs.push_back(plain_doc(d));
            }
            kb_doc_free(d);
        }
    }
    return c;
}

// ---- queries --------------------------------------------------------------

struct Judged {
    std::string id;
    int grade;
};

struct Query {
    std::string qid, type, text;
    std::vector<Judged> rel;
    int line;
};

std::string trim(const std::string &s)
{
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
        b--;
    return s.substr(a, b - a);
}

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    size_t p = 0;
    for (;;) {
        size_t q = s.find(sep, p);
        out.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
        if (q == std::string::npos)
            break;
        p = q + 1;
    }
    return out;
}

std::vector<Query> load_queries(const std::string &path, const Corpus &c)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error(path + ": cannot read");
    std::vector<Query> qs;
    std::set<std::string> qids;
    std::string line;
    int lineno = 0;
    bool header = false;
    auto fail = [&](const std::string &msg) {
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + msg);
    };
    while (std::getline(in, line)) {
        lineno++;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (trim(line).empty() || trim(line)[0] == '#')
            continue;
        std::vector<std::string> f = split(line, '\t');
        if (!header) {
            if (f.size() != 4 || trim(f[0]) != "qid" || trim(f[1]) != "type" || trim(f[2]) != "query" ||
                trim(f[3]) != "relevant")
                fail("the first line must be the header qid<TAB>type<TAB>query<TAB>relevant");
            header = true;
            continue;
        }
        if (f.size() != 4)
            fail("expected 4 TAB-separated columns, got " + std::to_string(f.size()));
        Query q;
        q.qid = trim(f[0]);
        q.type = trim(f[1]);
        q.text = trim(f[2]);
        q.line = lineno;
        if (q.qid.empty() || q.type.empty() || q.text.empty())
            fail("empty qid, type or query");
        if (!qids.insert(q.qid).second)
            fail("duplicate qid " + q.qid);
        std::set<std::string> seen;
        bool answer = false;
        for (const std::string &item : split(f[3], ',')) {
            std::string it = trim(item);
            if (it.empty())
                continue;
            size_t colon = it.rfind(':');
            if (colon == std::string::npos || colon == 0)
                fail("relevant item '" + it + "' is not docid:grade");
            std::string id = trim(it.substr(0, colon)), g = trim(it.substr(colon + 1));
            if (g != "1" && g != "2")
                fail("grade of " + id + " must be 1 or 2");
            if (!c.by_id.count(id))
                fail("unknown document id " + id);
            if (!seen.insert(id).second)
                fail("document " + id + " judged twice");
            q.rel.push_back({id, g[0] - '0'});
            answer = answer || g == "2";
        }
        if (!answer)
            fail("query " + q.qid + " has no grade-2 document");
        qs.push_back(q);
    }
    if (!header)
        throw std::runtime_error(path + ": no header line");
    if (qs.empty())
        throw std::runtime_error(path + ": no queries");
    return qs;
}

// ---- engines --------------------------------------------------------------

struct Hit {
    std::string id, title;
    double score;
    double confidence = 0; // kbdesk only
};

struct Run {
    std::vector<Hit> hits;
    bool no_good = false;   // kbdesk only: no_good_match at the default threshold
    bool error = false; // the engine rejected the query (counts as no results)
    std::string msg;
};

Xapian::TermGenerator baseline_termgen()
{
    Xapian::TermGenerator tg;
    tg.set_stemmer(Xapian::Stem("english"));
    tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    tg.set_flags(Xapian::TermGenerator::FLAG_CJK_NGRAM);
    return tg;
}

void build_baseline(const std::string &path, const Corpus &c, bool positions)
{
    Xapian::WritableDatabase db(path, Xapian::DB_CREATE_OR_OVERWRITE);
    Xapian::TermGenerator tg = baseline_termgen();
    for (const Doc &d : c.docs) {
        Xapian::Document xd;
        tg.set_document(xd);
        if (positions)
            tg.index_text(d.text);
        else
            tg.index_text_without_positions(d.text);
        xd.set_data(d.id + "\t" + d.title);
        std::string idterm = "Q" + d.id;
        xd.add_boolean_term(idterm);
        db.replace_document(idterm, xd);
    }
    db.commit();
}

Run run_mset(const Xapian::Database &db, const Xapian::Query &q, unsigned limit)
{
    Run r;
    Xapian::Enquire enq(db);
    enq.set_weighting_scheme(Xapian::BM25Weight());
    enq.set_query(q);
    Xapian::MSet m = enq.get_mset(0, limit);
    for (Xapian::MSetIterator i = m.begin(); i != m.end(); ++i) {
        std::string data = i.get_document().get_data();
        size_t tab = data.find('\t');
        r.hits.push_back({data.substr(0, tab), tab == std::string::npos ? "" : data.substr(tab + 1),
                          i.get_weight()});
    }
    return r;
}

// baseline (a): stock QueryParser
Run run_qp(const Xapian::Database &db, const std::string &text, unsigned limit)
{
    Xapian::QueryParser qp;
    qp.set_database(db);
    qp.set_stemmer(Xapian::Stem("english"));
    qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
    Xapian::Query q;
    try {
        q = qp.parse_query(text, Xapian::QueryParser::FLAG_DEFAULT | Xapian::QueryParser::FLAG_CJK_NGRAM);
    } catch (const Xapian::QueryParserError &e) {
        Run r;
        r.error = true;
        r.msg = e.get_msg();
        return r;
    }
    return run_mset(db, q, limit);
}

// baseline (b): OR of the query's TermGenerator terms, BM25
Run run_bag(const Xapian::Database &db, const std::string &text, unsigned limit)
{
    Xapian::Document scratch;
    Xapian::TermGenerator tg = baseline_termgen();
    tg.set_document(scratch);
    tg.index_text_without_positions(text);
    std::vector<Xapian::Query> terms;
    for (Xapian::TermIterator t = scratch.termlist_begin(); t != scratch.termlist_end(); ++t)
        terms.emplace_back(*t, t.get_wdf());
    if (terms.empty())
        return Run();
    return run_mset(db, Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end()), limit);
}

Run run_kbdesk(kb_searcher *s, const std::string &text, unsigned limit)
{
    Run r;
    struct kb_search_req req;
    std::memset(&req, 0, sizeof req);
    req.q = text.data();
    req.qlen = text.size();
    req.internal = 1;
    req.limit = limit;
    req.no_facets = 1;
    struct kb_search_res res;
    std::memset(&res, 0, sizeof res);
    char err[512] = "";
    int rc = kb_search_run(s, &req, &res, err, sizeof err);
    if (rc < 0) {
        r.error = true;
        r.msg = err;
    } else {
        for (size_t i = 0; i < res.nhits; i++)
            r.hits.push_back({res.hits[i].id ? res.hits[i].id : "",
                              res.hits[i].title ? res.hits[i].title : "", res.hits[i].score,
                              res.hits[i].confidence});
        r.no_good = res.no_good_match != 0;
    }
    kb_search_res_fin(&res);
    return r;
}

// ---- measures -------------------------------------------------------------

const unsigned K = 10;

struct Scores {
    double s1 = 0, mrr = 0, ndcg = 0;
};

Scores score(const Run &r, const Query &q)
{
    std::map<std::string, int> g;
    for (const Judged &j : q.rel)
        g[j.id] = j.grade;
    Scores s;
    double dcg = 0;
    for (size_t i = 0; i < r.hits.size() && i < K; i++) {
        auto it = g.find(r.hits[i].id);
        int grade = it == g.end() ? 0 : it->second;
        if (grade == 2 && s.mrr == 0) {
            s.mrr = 1.0 / double(i + 1);
            if (i == 0)
                s.s1 = 1;
        }
        dcg += (std::pow(2.0, grade) - 1) / std::log2(double(i + 2));
    }
    std::vector<int> ideal;
    for (const Judged &j : q.rel)
        ideal.push_back(j.grade);
    std::sort(ideal.rbegin(), ideal.rend());
    double idcg = 0;
    for (size_t i = 0; i < ideal.size() && i < K; i++)
        idcg += (std::pow(2.0, ideal[i]) - 1) / std::log2(double(i + 2));
    s.ndcg = idcg > 0 ? dcg / idcg : 0;
    return s;
}

// rank (1-based) of the first grade-2 document in the top K, 0 if none
int answer_rank(const Run &r, const Query &q)
{
    for (size_t i = 0; i < r.hits.size() && i < K; i++)
        for (const Judged &j : q.rel)
            if (j.grade == 2 && j.id == r.hits[i].id)
                return int(i + 1);
    return 0;
}

struct Mean {
    double s1 = 0, mrr = 0, ndcg = 0;
    size_t n = 0;
    void add(const Scores &s)
    {
        s1 += s.s1;
        mrr += s.mrr;
        ndcg += s.ndcg;
        n++;
    }
    double get(int m) const
    {
        double v = m == 0 ? s1 : m == 1 ? mrr : ndcg;
        return n ? v / double(n) : 0;
    }
};

const int NENG = 3;
const char *const ENGINE_KEY[NENG] = {"qp", "bag", "kbdesk"};
const char *const ENGINE_NAME[NENG] = {"(a) Xapian QueryParser, CJK n-grams ANDed",
                                       "(b) Xapian bag of n-grams, OR, BM25", "kbdesk"};
const char *const MEASURE[3] = {"S@1", "MRR@10", "nDCG@10"};
const char *const TYPE_ORDER[] = {"clause", "clause_no", "problem", "english",
                                  "mixed",  "code",      "traditional", "typo"};

std::string fmt(double v)
{
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v);
    return b;
}

std::string fmt_signed(double v)
{
    char b[32];
    std::snprintf(b, sizeof b, "%+.3f", v);
    return b;
}

// Markdown table cell: no pipes or newlines
std::string cell(const std::string &s)
{
    std::string o;
    for (char ch : s) {
        if (ch == '|')
            o += "\\|";
        else if (ch == '\n' || ch == '\r' || ch == '\t')
            o += ' ';
        else
            o += ch;
    }
    return o;
}

std::string code(const std::string &s)
{
    return "`" + cell(s) + "`";
}

// ---- command line ---------------------------------------------------------

struct Opts {
    std::string corpus, index, work, queries, out, engine, query, oos, dump;
    bool check = false, have_query = false, verbose = false;
};

void usage()
{
    std::fputs("usage: kbeval --corpus DIR --index DIR --work DIR --queries FILE [--out FILE] [--check]\n"
               "              [--oos FILE]  (out-of-scope questions: confidence and no_good_match)\n"
               "              [--dump-hits FILE]  (kbdesk's hits as TSV for tests/eval/calibrate.py)\n"
               "              [--verbose]   (per query: each engine's rank of the answer, top 3 hits)\n"
               "       kbeval --engine kbdesk|qp|bag --query TEXT --index DIR [--corpus DIR --work DIR]\n",
               stderr);
}

bool parse_args(int argc, char **argv, Opts &o)
{
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&](std::string &dst) {
            if (i + 1 >= argc)
                return false;
            dst = argv[++i];
            return true;
        };
        bool ok = true;
        if (a == "--corpus")
            ok = val(o.corpus);
        else if (a == "--index")
            ok = val(o.index);
        else if (a == "--work")
            ok = val(o.work);
        else if (a == "--queries")
            ok = val(o.queries);
        else if (a == "--out")
            ok = val(o.out);
        else if (a == "--oos")
            ok = val(o.oos);
        else if (a == "--dump-hits")
            ok = val(o.dump);
        else if (a == "--engine")
            ok = val(o.engine);
        else if (a == "--query")
            ok = o.have_query = val(o.query);
        else if (a == "--check")
            o.check = true;
        else if (a == "--verbose")
            o.verbose = true;
        else if (a == "-h" || a == "--help") {
            usage();
            std::exit(0);
        } else
            ok = false;
        if (!ok) {
            std::fprintf(stderr, "kbeval: bad argument %s\n", a.c_str());
            return false;
        }
    }
    return true;
}

void mkdir_p(const std::string &path)
{
    std::string cur;
    for (const std::string &part : split(path, '/')) {
        cur += part;
        if (!cur.empty())
            mkdir(cur.c_str(), 0777);
        cur += '/';
    }
}

struct Baselines {
    Xapian::Database qp, bag;
};

Baselines open_baselines(const Corpus &c, const std::string &work)
{
    mkdir_p(work);
    std::string pa = work + "/baseline-qp", pb = work + "/baseline-bag";
    build_baseline(pa, c, true);
    build_baseline(pb, c, false);
    return Baselines{Xapian::Database(pa), Xapian::Database(pb)};
}

kb_searcher *open_kbdesk(const std::string &index, kb_lexicon *lx)
{
    kb_searcher *s = nullptr;
    char err[512] = "";
    if (kb_searcher_new(index.c_str(), lx, &s, err, sizeof err) < 0)
        throw std::runtime_error(index + ": " + err);
    return s;
}

int debug_query(const Opts &o)
{
    Run r;
    if (o.engine == "kbdesk") {
        if (o.index.empty())
            throw std::runtime_error("--engine kbdesk needs --index");
        kb_lexicon *lx = kb_lexicon_new_builtin();
        kb_searcher *s = open_kbdesk(o.index, lx);
        r = run_kbdesk(s, o.query, K);
        kb_searcher_free(s);
        kb_lexicon_free(lx);
    } else if (o.engine == "qp" || o.engine == "bag") {
        if (o.corpus.empty() || o.work.empty())
            throw std::runtime_error("--engine " + o.engine + " needs --corpus and --work");
        Corpus c = load_corpus(o.corpus);
        Baselines b = open_baselines(c, o.work);
        r = o.engine == "qp" ? run_qp(b.qp, o.query, K) : run_bag(b.bag, o.query, K);
    } else {
        std::fprintf(stderr, "kbeval: unknown engine '%s' (kbdesk, qp, bag)\n", o.engine.c_str());
        return 2;
    }
    if (r.error)
        std::printf("(error: %s; counted as no results)\n", r.msg.c_str());
    if (r.hits.empty())
        std::printf("(no results)\n");
    for (size_t i = 0; i < r.hits.size(); i++)
        std::printf("%2zu  %-28s %9.4f  %s\n", i + 1, r.hits[i].id.c_str(), r.hits[i].score,
                    r.hits[i].title.c_str());
    return 0;
}

// ---- the evaluation -------------------------------------------------------

int evaluate(const Opts &o)
{
    if (o.corpus.empty() || o.index.empty() || o.work.empty() || o.queries.empty()) {
        usage();
        return 2;
    }
    Corpus c = load_corpus(o.corpus);
    std::vector<Query> qs = load_queries(o.queries, c);
    Baselines b = open_baselines(c, o.work);
    kb_lexicon *lx = kb_lexicon_new_builtin();
    kb_searcher *s = open_kbdesk(o.index, lx);
    uint32_t kb_docs = kb_searcher_doccount(s);

    std::vector<std::string> types;
    for (const char *t : TYPE_ORDER)
        for (const Query &q : qs)
            if (q.type == t) {
                types.push_back(t);
                break;
            }
    for (const Query &q : qs)
        if (std::find(types.begin(), types.end(), q.type) == types.end())
            types.push_back(q.type);

    Mean overall[NENG];
    std::map<std::string, Mean> per_type[NENG];
    size_t errors[NENG] = {0, 0, 0}, empty[NENG] = {0, 0, 0};
    struct Failure {
        const Query *q;
        Run run;
        int rank;
    };
    std::vector<Failure> failures;

    for (const Query &q : qs) {
        Run runs[NENG] = {run_qp(b.qp, q.text, K), run_bag(b.bag, q.text, K), run_kbdesk(s, q.text, K)};
        for (int e = 0; e < NENG; e++) {
            Scores sc = score(runs[e], q);
            overall[e].add(sc);
            per_type[e][q.type].add(sc);
            if (runs[e].error) {
                errors[e]++;
                if (e == 2)
                    std::fprintf(stderr, "kbeval: kbdesk failed on %s: %s\n", q.qid.c_str(),
                                 runs[e].msg.c_str());
            }
            if (runs[e].hits.empty())
                empty[e]++;
            if (e == 2 && sc.s1 == 0)
                failures.push_back({&q, runs[e], answer_rank(runs[e], q)});
        }
        if (o.verbose) {
            std::printf("%-4s %-11s %s\n", q.qid.c_str(), q.type.c_str(), q.text.c_str());
            for (int e = 0; e < NENG; e++) {
                int rank = answer_rank(runs[e], q);
                std::printf("     %-6s answer at %-2s:", ENGINE_KEY[e], rank ? std::to_string(rank).c_str() : "-");
                for (size_t i = 0; i < runs[e].hits.size() && i < 3; i++) {
                    int g = 0;
                    for (const Judged &j : q.rel)
                        if (j.id == runs[e].hits[i].id)
                            g = j.grade;
                    std::printf(" %s(%d)", runs[e].hits[i].id.c_str(), g);
                }
                std::printf("\n");
            }
        }
    }
    // confidence: kbdesk's hits of the judged queries (right = grade 2) and of
    // the out-of-scope questions (none right)
    struct Conf {
        double c;
        bool right;
    };
    std::vector<Conf> confs;
    std::vector<double> top_ans, top_oos; // the first hit's confidence (0: no hit)
    size_t flag_ans = 0, flag_oos = 0;
    std::ofstream dump;
    if (!o.dump.empty())
        dump.open(o.dump, std::ios::binary | std::ios::trunc);
    auto add_run = [&](const Run &r, const Query *q, const std::string &qid, bool oos) {
        for (size_t i = 0; i < r.hits.size(); i++) {
            bool right = false;
            if (q)
                for (const Judged &j : q->rel)
                    right |= j.id == r.hits[i].id && j.grade == 2;
            confs.push_back({r.hits[i].confidence, right});
            if (dump.is_open())
                dump << (oos ? "oos" : "ans") << '\t' << qid << '\t' << i << '\t' << r.hits[i].score
                     << '\t' << (right ? 1 : 0) << '\n';
        }
        (oos ? top_oos : top_ans).push_back(r.hits.empty() ? 0 : r.hits[0].confidence);
        (oos ? flag_oos : flag_ans) += r.no_good ? 1 : 0;
    };
    for (const Query &q : qs)
        add_run(run_kbdesk(s, q.text, K), &q, q.qid, false);
    if (!o.oos.empty()) {
        std::ifstream in(o.oos, std::ios::binary);
        if (!in)
            throw std::runtime_error(o.oos + ": cannot read");
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#')
                continue;
            size_t tab = line.find('\t');
            std::string qid = tab == std::string::npos ? "" : line.substr(0, tab);
            std::string text = trim(tab == std::string::npos ? line : line.substr(tab + 1));
            if (!text.empty())
                add_run(run_kbdesk(s, text, K), nullptr, qid, true);
        }
    }
    if (dump.is_open() && !dump.good())
        throw std::runtime_error(o.dump + ": cannot write");

    kb_searcher_free(s);
    kb_lexicon_free(lx);

    double best[3];
    int best_e[3];
    for (int m = 0; m < 3; m++) {
        best_e[m] = overall[0].get(m) >= overall[1].get(m) ? 0 : 1;
        best[m] = overall[best_e[m]].get(m);
    }

    // stdout: the overall table
    std::printf("%zu queries, %zu documents (kbdesk index: %u)\n", qs.size(), c.docs.size(), kb_docs);
    std::printf("%-44s %8s %8s %8s\n", "engine", MEASURE[0], MEASURE[1], MEASURE[2]);
    for (int e = 0; e < NENG; e++)
        std::printf("%-44s %8s %8s %8s\n", ENGINE_NAME[e], fmt(overall[e].get(0)).c_str(),
                    fmt(overall[e].get(1)).c_str(), fmt(overall[e].get(2)).c_str());
    std::printf("%-44s %8s %8s %8s\n", "kbdesk - best baseline", fmt_signed(overall[2].get(0) - best[0]).c_str(),
                fmt_signed(overall[2].get(1) - best[1]).c_str(), fmt_signed(overall[2].get(2) - best[2]).c_str());
    std::printf("kbdesk first hit not a grade-2 document: %zu of %zu queries\n", failures.size(), qs.size());
    std::printf("no_good_match: %zu of %zu answerable queries, %zu of %zu out-of-scope questions\n",
                flag_ans, top_ans.size(), flag_oos, top_oos.size());

    if (!o.out.empty()) {
        std::ostringstream md;
        md << "# Relevance evaluation\n\n"
           << "How well each engine ranks the judged answers of " << qs.size()
           << " queries (`tests/eval/queries.tsv`: staff asking for standard clauses, with and "
              "without clause numbers, end users describing problems in their own words, English, "
              "mixed Chinese/English, error codes, Traditional characters and typos) over the "
           << c.docs.size()
           << " documents of `corpora/`. kbdesk is the real search core (`kb_search_run`, internal "
              "documents included, top 10) on the index built by the kbdesk indexer. The two "
              "baselines index the same documents, read with the same parsers, in plain Xapian as "
              "one text each (no word segmentation, no glossary, no field weights; TermGenerator "
              "with CJK n-grams, English stemmer): (a) Xapian's stock QueryParser with CJK n-grams, "
              "which ANDs every n-gram of a Chinese run; (b) the query's n-grams and words ORed and "
              "ranked by BM25, as Elasticsearch's `cjk` analyzer does with a default `match` query. "
              "Success@1: the first hit is a grade-2 document (the answer); MRR@10: reciprocal "
              "rank of the first grade-2 document in the top 10; nDCG@10: gain 2^grade − 1, "
              "log2 discount, ideal ranking from the judged grades. Regenerate with `make eval` "
              "(`build/bin/kbeval ... --check` exits 1 unless kbdesk beats the stronger baseline "
              "on every overall measure).\n\n";
        md << "## Overall\n\n| engine | S@1 | MRR@10 | nDCG@10 |\n|---|---:|---:|---:|\n";
        for (int e = 0; e < NENG; e++) {
            md << "| " << (e == 2 ? "**kbdesk**" : ENGINE_NAME[e]);
            for (int m = 0; m < 3; m++)
                md << " | " << (e == 2 ? "**" + fmt(overall[e].get(m)) + "**" : fmt(overall[e].get(m)));
            md << " |\n";
        }
        md << "| best baseline";
        for (int m = 0; m < 3; m++)
            md << " | " << fmt(best[m]) << " (" << (best_e[m] == 0 ? "a" : "b") << ")";
        md << " |\n| kbdesk margin over it";
        for (int m = 0; m < 3; m++)
            md << " | " << fmt_signed(overall[2].get(m) - best[m]);
        md << " |\n\n";
        md << "Queries with no results: (a) " << empty[0] << " (" << errors[0]
           << " of them QueryParser errors), (b) " << empty[1] << ", kbdesk " << empty[2];
        if (errors[2])
            md << " (" << errors[2] << " search errors)";
        md << ".";
        if (kb_docs != c.docs.size())
            md << " Note: the kbdesk index holds " << kb_docs << " documents, the corpus "
               << c.docs.size() << ".";
        md << "\n\n";

        md << "## By query type\n\n"
           << "Each cell: (a) / (b) / kbdesk.\n\n"
           << "| type | queries | S@1 | MRR@10 | nDCG@10 |\n|---|---:|---|---|---|\n";
        for (const std::string &t : types) {
            md << "| " << t << " | " << per_type[2][t].n;
            for (int m = 0; m < 3; m++) {
                double bb = std::max(per_type[0][t].get(m), per_type[1][t].get(m));
                double kv = per_type[2][t].get(m);
                md << " | " << fmt(per_type[0][t].get(m)) << " / " << fmt(per_type[1][t].get(m)) << " / "
                   << (kv > bb ? "**" + fmt(kv) + "**" : fmt(kv));
            }
            md << " |\n";
        }
        md << "| all | " << qs.size();
        for (int m = 0; m < 3; m++)
            md << " | " << fmt(overall[0].get(m)) << " / " << fmt(overall[1].get(m)) << " / "
               << fmt(overall[2].get(m));
        md << " |\n\n";

        md << "## Confidence and \"no good match\"\n\n"
           << "Each kbdesk hit carries `confidence`, a logistic model of \"this hit is the answer\" "
              "over its score, its score relative to the first hit's and whether it is first "
              "(`shared/kb_search_rank.c`, fitted by `tests/eval/calibrate.py` on these judged "
              "queries and the out-of-scope questions of `tests/eval/out_of_scope.tsv`). Among "
              "the hits in each band, the share that is the answer:\n\n"
           << "| confidence | hits | share right |\n|---|---:|---:|\n";
        for (int bnd = 0; bnd < 10; bnd++) {
            size_t n = 0, k = 0;
            for (const Conf &cf : confs)
                if (std::min(9, int(cf.c * 10)) == bnd) {
                    n++;
                    k += cf.right ? 1 : 0;
                }
            char band[32];
            std::snprintf(band, sizeof band, "%.1f–%.1f", bnd / 10.0, (bnd + 1) / 10.0);
            md << "| " << band << " | " << n << " | " << (n ? fmt(double(k) / double(n)) : "—") << " |\n";
        }
        md << "\n`no_good_match` is set when there is no hit or the first hit's confidence is "
              "below the threshold (default "
           << KB_SEARCH_MIN_CONFIDENCE << ", `min_confidence` on `/search`). At the default: "
           << flag_ans << " of " << top_ans.size() << " answerable queries flagged, " << flag_oos
           << " of " << top_oos.size() << " out-of-scope questions flagged. Other thresholds:\n\n"
           << "| threshold | answerable flagged | out-of-scope flagged |\n|---:|---:|---:|\n";
        for (double thr : {0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40}) {
            size_t fa = 0, fo = 0;
            for (double c : top_ans)
                fa += c < thr ? 1 : 0;
            for (double c : top_oos)
                fo += c < thr ? 1 : 0;
            char t[16];
            std::snprintf(t, sizeof t, "%.2f", thr);
            md << "| " << t << " | " << fa << " of " << top_ans.size() << " | " << fo << " of "
               << top_oos.size() << " |\n";
        }
        md << "\n";

        md << "## Where kbdesk's first hit is not the answer\n\n";
        if (failures.empty()) {
            md << "None: for every query kbdesk's first hit is a grade-2 document.\n";
        } else {
            md << failures.size() << " of " << qs.size()
               << " queries. \"rank\" is where the first grade-2 document came (— : not in the top "
                  "10); \"expected\" lists the grade-2 documents.\n\n"
               << "| qid | type | query | kbdesk's first hit | rank | expected |\n|---|---|---|---|---:|---|\n";
            for (const Failure &f : failures) {
                std::string first = "(no results)";
                if (!f.run.hits.empty()) {
                    const Hit &h = f.run.hits[0];
                    int g = 0;
                    for (const Judged &j : f.q->rel)
                        if (j.id == h.id)
                            g = j.grade;
                    first = code(h.id) + " " + cell(h.title) + (g == 1 ? " (grade 1)" : "");
                }
                std::string exp;
                for (const Judged &j : f.q->rel)
                    if (j.grade == 2)
                        exp += (exp.empty() ? "" : ", ") + code(j.id);
                md << "| " << f.q->qid << " | " << f.q->type << " | " << cell(f.q->text) << " | " << first
                   << " | " << (f.rank ? std::to_string(f.rank) : "—") << " | " << exp << " |\n";
            }
        }
        std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
        out << md.str();
        if (!out.good())
            throw std::runtime_error(o.out + ": cannot write");
    }

    if (o.check) {
        bool ok = true;
        for (int m = 0; m < 3; m++)
            if (!(overall[2].get(m) > best[m])) {
                std::fprintf(stderr, "kbeval: check failed: kbdesk %s %s is not above the best baseline's %s\n",
                             MEASURE[m], fmt(overall[2].get(m)).c_str(), fmt(best[m]).c_str());
                ok = false;
            }
        if (!ok)
            return 1;
        std::printf("check passed: kbdesk beats the stronger baseline on every measure\n");
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    Opts o;
    if (!parse_args(argc, argv, o)) {
        usage();
        return 2;
    }
    try {
        if (!o.engine.empty() || o.have_query) {
            if (o.engine.empty() || !o.have_query) {
                usage();
                return 2;
            }
            return debug_query(o);
        }
        return evaluate(o);
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "kbeval: Xapian: %s\n", e.get_description().c_str());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "kbeval: %s\n", e.what());
    }
    return 2;
}

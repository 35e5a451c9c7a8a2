// ixdiff: prints a canonical dump of a kbdesk index, one line per item,
// so two indexes built by different indexer versions can be compared with
// diff (tests/bench/ixdiff.sh). Per document (keyed by its Q id term, not
// its docid): every term with its wdf and positions, every value, the
// stored data (as a hash and length), and the document length. Then the
// spelling table (word, frequency), the synonyms and the metadata (the
// build time "kb:built" left out; a "src:" record's first line is cut at
// its first space, so a stat cache added after the hash does not count as
// a difference). Usage: ixdiff INDEX > dump.txt
#include <xapian.h>

#include <cinttypes>
#include <cstdio>
#include <string>

static uint64_t fnv(const std::string &s, uint64_t h = 1469598103934665603ull)
{
    for (unsigned char c : s)
        h = (h ^ c) * 1099511628211ull;
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: ixdiff INDEX\n");
        return 2;
    }
    try {
        Xapian::Database db(argv[1]);
        std::printf("doccount %u avlength %.6f total %llu\n", db.get_doccount(),
                    db.get_avlength(), (unsigned long long)db.get_total_length());
        for (Xapian::TermIterator id = db.allterms_begin("Q"); id != db.allterms_end("Q"); ++id) {
            Xapian::PostingIterator p = db.postlist_begin(*id);
            if (p == db.postlist_end(*id))
                continue;
            Xapian::Document d = db.get_document(*p);
            std::string line;
            for (Xapian::TermIterator t = d.termlist_begin(); t != d.termlist_end(); ++t) {
                line += *t;
                line += ':' + std::to_string(t.get_wdf());
                for (Xapian::PositionIterator q = t.positionlist_begin();
                     q != t.positionlist_end(); ++q)
                    line += ',' + std::to_string(*q);
                line += ' ';
            }
            std::string vals;
            for (Xapian::ValueIterator v = d.values_begin(); v != d.values_end(); ++v)
                vals += std::to_string(v.get_valueno()) + '=' + *v + '\x1f';
            std::string data = d.get_data();
            std::printf("doc %s len=%u terms=%zu/%016" PRIx64 " values=%016" PRIx64
                        " data=%zu/%016" PRIx64 "\n",
                        (*id).c_str(), db.get_doclength(*p), line.size(), fnv(line), fnv(vals),
                        data.size(), fnv(data));
        }
        for (Xapian::TermIterator s = db.spellings_begin(); s != db.spellings_end(); ++s)
            std::printf("spell %s %u\n", (*s).c_str(), s.get_termfreq());
        for (Xapian::TermIterator k = db.synonym_keys_begin(); k != db.synonym_keys_end(); ++k)
            for (Xapian::TermIterator s = db.synonyms_begin(*k); s != db.synonyms_end(*k); ++s)
                std::printf("synonym %s -> %s\n", (*k).c_str(), (*s).c_str());
        for (Xapian::TermIterator m = db.metadata_keys_begin(); m != db.metadata_keys_end(); ++m) {
            std::string k = *m, v = db.get_metadata(k);
            if (k == "kb:built")
                continue;
            if (k.compare(0, 4, "src:") == 0) {
                size_t nl = v.find('\n'), sp = v.find(' ');
                if (sp != std::string::npos && (nl == std::string::npos || sp < nl))
                    v.erase(sp, nl == std::string::npos ? std::string::npos : nl - sp);
            }
            std::printf("meta %s %zu/%016" PRIx64 "\n", k.c_str(), v.size(), fnv(v));
        }
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "ixdiff: %s\n", e.get_description().c_str());
        return 1;
    }
    return 0;
}

/* kb_stem: a C face for Xapian::Stem("english"); every exception is caught
 * and reported as -1. */
#include "kb_stem.h"

#include <xapian.h>
#include <cstring>
#include <new>
#include <string>

struct kb_stem {
    Xapian::Stem stem;
};

extern "C" kb_stem *kb_stem_new(void)
{
    try {
        kb_stem *s = new kb_stem;
        s->stem = Xapian::Stem("english");
        return s;
    } catch (...) {
        return nullptr;
    }
}

extern "C" void kb_stem_free(kb_stem *s)
{
    delete s;
}

extern "C" int kb_stem_word(kb_stem *s, const char *word, size_t len, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    try {
        std::string r = s->stem(std::string(word, len));
        if (r.size() + 1 > cap)
            return -1;
        std::memcpy(out, r.data(), r.size());
        out[r.size()] = '\0';
        return (int)r.size();
    } catch (...) {
        return -1;
    }
}

/* kb_norm_dict: the keys of an OpenCC configuration's conversions that
 * change text, read through OpenCC's C++ API (Config -> Converter ->
 * conversion chain -> Dict::GetLexicon). */
#include "kb_norm_dict.h"

#include <opencc/Config.hpp>
#include <opencc/Conversion.hpp>
#include <opencc/ConversionChain.hpp>
#include <opencc/Converter.hpp>
#include <opencc/Dict.hpp>
#include <opencc/DictEntry.hpp>
#include <opencc/Exception.hpp>
#include <opencc/Lexicon.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace {

void seterr(char *err, size_t errlen, const char *what) noexcept
{
    if (err && errlen)
        std::snprintf(err, errlen, "[norm][opencc] %s", what ? what : "unknown error");
}

/* The keys whose conversion is not the key itself. Returns 0 or the
 * callback's non-zero value. */
int list_dict(const opencc::DictPtr &dict, kb_norm_dict_cb cb, void *ud)
{
    opencc::LexiconPtr lex = dict->GetLexicon();
    for (const auto &entry : *lex) {
        std::string key = entry->Key();
        if (entry->GetDefault() == key)
            continue; /* 有序 -> 有序: applying it changes nothing */
        int rc = cb(ud, key.data(), key.size());
        if (rc)
            return rc;
    }
    return 0;
}

} // namespace

extern "C" int kb_norm_dict_keys(const char *config, kb_norm_dict_cb cb, void *ud, char *err,
                                 size_t errlen)
{
    try {
        opencc::Config cfg;
        opencc::ConverterPtr conv = cfg.NewFromFile(config);
        int rc = 0;
        for (const auto &c : conv->GetConversionChain()->GetConversions())
            if (!rc)
                rc = list_dict(c->GetDict(), cb, ud);
        return rc;
    } catch (const opencc::Exception &e) {
        seterr(err, errlen, e.what());
    } catch (const std::exception &e) {
        seterr(err, errlen, e.what());
    } catch (...) {
        seterr(err, errlen, "unknown exception");
    }
    return -1;
}

/* kb_norm_dict: every key of the dictionaries an OpenCC configuration uses,
 * read through OpenCC's C++ API (Config -> Converter -> segmentation and
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
#include <opencc/MaxMatchSegmentation.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace {

void seterr(char *err, size_t errlen, const char *what) noexcept
{
    if (err && errlen)
        std::snprintf(err, errlen, "[norm][opencc] %s", what ? what : "unknown error");
}

/* Returns 0 or the callback's non-zero value. */
int list_dict(const opencc::DictPtr &dict, kb_norm_dict_cb cb, void *ud)
{
    opencc::LexiconPtr lex = dict->GetLexicon();
    for (const auto &entry : *lex) {
        std::string key = entry->Key();
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
        auto seg = std::dynamic_pointer_cast<opencc::MaxMatchSegmentation>(
            conv->GetSegmentation());
        if (!seg) {
            seterr(err, errlen, "unknown segmentation type: cannot list its dictionary");
            return -1;
        }
        int rc = list_dict(seg->GetDict(), cb, ud);
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

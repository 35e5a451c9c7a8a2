/* fuzz_query: libFuzzer target for the query side of kbdesk.
 *
 * LLVMFuzzerInitialize writes a small corpus (articles in Chinese, English
 * and both, an internal one, known errors, a standard's text and a glossary)
 * into a mkdtemp folder and indexes it with the indexer's own build code, then
 * opens one kb_searcher. Each input is then used as
 *   - the q of kb_search_run (public and internal, with and without filters,
 *     offsets near the end) and of kb_search_suggest, plus searchd's JSON of
 *     both (codec_json.c);
 *   - a query string for searchd's codec ("/search?" + input), and what it
 *     parses is searched like searchd would;
 *   - a raw HTTP request head for the codec, and a request target.
 * Inputs are copied into exactly-sized heap buffers so that any read past
 * the end is caught by AddressSanitizer. Nothing may crash, leak or read
 * out of bounds; errors are fine.
 *
 * The Makefile compiles only the shared/ sources besides this file, so the indexer's
 * build code (its three files) and searchd's codec (both files) are included
 * as sources. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "../../indexer/termgen.c"
#include "../../indexer/walk.c"
#include "../../indexer/build.c"
#include "../../searchd/codec.c"
#include "../../searchd/codec_json.c"

#include "kb_lexicon.h"
#include "kb_net.h"
#include "kb_search.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char workdir[] = "/tmp/kbfuzz.XXXXXX";
static kb_lexicon *lexicon;
static kb_searcher *searcher;

static const struct { const char *path; const char *text; } files[] = {
    {"articles/KB-0001.md",
     "---\nid: KB-0001\nkind: article\ntitle: VPN 连接失败，提示“错误 809”\n"
     "category: 网络/VPN\ntags: VPN, L2TP, 错误809\nproduct: Windows 10/11 内置 VPN 客户端\n"
     "lang: zh\nvisibility: public\nupdated: 2026-05-12\n---\n"
     "## 现象\n连接 VPN 时提示“错误 809：无法建立计算机与 VPN 服务器之间的网络连接”。\n"
     "## 处理\n1. 检查防火墙是否放行 UDP 500/4500。\n2. 设置注册表 AssumeUDPEncapsulationContextOnSendRule = 2。\n"},
    {"articles/KB-0002.md",
     "---\nid: KB-0002\nkind: article\ntitle: Windows Update fails with 0x80070005\n"
     "category: 终端/补丁\ntags: Windows Update, 0x80070005, access denied\nlang: en\n"
     "visibility: public\nupdated: 2025-01-02\n---\n"
     "## Symptom\nInstalling updates stops with error 0x80070005 (access denied).\n"
     "## Resolution\nRun `DISM /Online /Cleanup-Image /RestoreHealth` and `sfc /scannow`, "
     "then reset the <SoftwareDistribution> folder & retry.\n"},
    {"articles/KB-0003.md",
     "---\nid: KB-0003\nkind: article\ntitle: Oracle 客户端报 ORA-12154 TNS 无法解析\n"
     "category: 数据库/Oracle\ntags: ORA-12154, tnsnames.ora\nlang: mixed\nvisibility: public\n"
     "updated: 2024-03-04\n---\n## 现象\nsqlplus 登录报 ORA-12154: TNS:could not resolve the "
     "connect identifier specified。\n## 原因\ntnsnames.ora 未配置或 TNS_ADMIN 指向错误。\n"},
    {"articles/KB-0004.md",
     "---\nid: KB-0004\nkind: article\ntitle: 【内部】动态口令（OTP）令牌时间同步\n"
     "category: 账号与密码\ntags: OTP, 动态口令\nlang: zh\nvisibility: internal\n"
     "updated: 2025-11-26\n---\n## 处理\n坐席在 4A 管理台执行令牌同步，输入连续两个口令。\n"},
    {"known_errors/KE-0001.md",
     "---\nid: KE-0001\nkind: known_error\ntitle: L2TP VPN error 809 behind NAT\n"
     "service: 远程接入 VPN\nstatus: workaround\nvisibility: public\n---\n"
     "## Symptom\nClients behind NAT get error 809.\n## Cause\nNAT-T is disabled on the client.\n"
     "## Workaround\nSet AssumeUDPEncapsulationContextOnSendRule to 2 and reboot.\n"},
    {"known_errors/KE-0002.md",
     "---\nid: KE-0002\nkind: known_error\ntitle: 打印后台处理程序反复崩溃\nservice: 打印服务\n"
     "status: open\nvisibility: internal\n---\n## 症状\n打印机一直显示脱机，Spooler 服务崩溃。\n"
     "## 临时解决方案\n重启 Print Spooler 服务并隔离第三方驱动。\n"},
    {"standards/004_fuzz.txt",
     "信息技术服务 运行维护 通用要求\n\n1　范围\n\n本文件规定了运行维护服务的通用要求。\n\n"
     "8　运行维护服务管理\n\n8.3　过程管理\n\n8.3.4　问题管理\n\n8.3.4.1　要求\n\n"
     "应建立问题管理流程，识别已知错误并记录临时解决方案。\n\n8.3.4.2　活动\n\n"
     "a) 问题识别；\n\nb) 问题分析与解决。\n\n9　服务台\n\n服务台是用户的单一联系点。\n"},
    {"glossary.txt",
     "# test glossary\nknown error | 已知错误\nservice desk | 服务台 | help desk\n"
     "SLA | 服务级别协议\n"},
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    kb_searcher_free(searcher);
    searcher = NULL;
    kb_lexicon_free(lexicon);
    lexicon = NULL;
    nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_query: %s: %s\n", what, msg);
    exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(workdir))
        die("mkdtemp", "cannot create the work folder");
    atexit(cleanup);
    char path[512];
    static const char *const dirs[] = {"corpus", "corpus/articles", "corpus/known_errors",
                                       "corpus/standards"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(path, sizeof path, "%s/%s", workdir, dirs[i]);
        if (mkdir(path, 0700))
            die("mkdir", path);
    }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/corpus/%s", workdir, files[i].path);
        FILE *f = fopen(path, "w");
        if (!f || fputs(files[i].text, f) < 0 || fclose(f))
            die("write", path);
    }
    char corpus[512], index[512], err[KB_ERR_MAX];
    snprintf(corpus, sizeof corpus, "%s/corpus", workdir);
    snprintf(index, sizeof index, "%s/index", workdir);
    struct build_opts o = {.corpus = corpus, .index = index, .log = stderr};
    struct build_stats st;
    memset(&st, 0, sizeof st);
    if (build_run(&o, &st, err, sizeof err))
        die("build", err);
    if (st.files_failed || st.total_docs < 8)
        die("build", "the synthetic corpus did not index as expected");
    lexicon = kb_lexicon_new_builtin();
    if (kb_searcher_new(index, lexicon, &searcher, err, sizeof err))
        die("searcher", err);
    return 0;
}

/* Runs one search and renders it, as searchd does. */
static void search(const char *q, size_t qlen, const char *kind, const char *category,
                   int internal, uint32_t offset, uint32_t limit)
{
    struct kb_search_req req;
    memset(&req, 0, sizeof req);
    req.q = q;
    req.qlen = qlen;
    req.kind = kind;
    req.category = category;
    req.internal = internal;
    req.offset = offset;
    req.limit = limit;
    struct kb_search_res res;
    memset(&res, 0, sizeof res);
    char err[KB_ERR_MAX];
    if (kb_search_run(searcher, &req, &res, err, sizeof err) == 0) {
        if (res.nhits > (limit ? limit : 10) || res.nhits > KB_SEARCH_MAX_LIMIT)
            abort();
        for (size_t i = 0; i < res.nhits; i++)
            if (!res.hits[i].id || (!internal && res.hits[i].visibility &&
                                    strcmp(res.hits[i].visibility, "internal") == 0))
                abort(); /* an internal document leaked into a public search */
        /* the JSON wants valid UTF-8 for the echo; searchd checks it first */
        if (kb_utf8_check(q, qlen, 0, NULL) == 0)
            free(codec_search_json(&res, q, qlen, offset, limit));
    }
    kb_search_res_fin(&res);
}

static void suggest(const char *q, size_t qlen, int internal)
{
    char err[KB_ERR_MAX];
    struct kb_search_completions comp;
    if (kb_search_suggest(searcher, q, qlen, internal, 0, &comp, err, sizeof err) == 0) {
        if (comp.n > 8)
            abort();
        for (size_t i = 0; i < comp.n; i++)
            if (!comp.v[i].text || comp.v[i].title != (comp.v[i].id != NULL))
                abort();
        free(codec_suggest_json(&comp, q, qlen));
    }
    kb_search_completions_fin(&comp);
}

/* The codec on the input as a query string, then the search it asks for. */
static void codec_query(const uint8_t *data, size_t size)
{
    static const char prefix[] = "/search?";
    size_t tl = sizeof prefix - 1 + size;
    char *target = malloc(tl ? tl : 1);
    memcpy(target, prefix, sizeof prefix - 1);
    if (size)
        memcpy(target + sizeof prefix - 1, data, size);
    struct sd_request req;
    struct codec_error e;
    if (codec_parse_target("GET", 3, target, tl, &req, &e) == 0) {
        if (req.ep != SD_EP_SEARCH || !req.q || req.qlen > KB_SEARCH_MAX_QUERY ||
            req.limit == 0 || req.limit > KB_SEARCH_MAX_LIMIT || req.offset > CODEC_MAX_OFFSET ||
            kb_utf8_check(req.q, req.qlen, 0, NULL) != 0)
            abort(); /* the codec let through what it promises to stop */
        search(req.q, req.qlen, req.kind, req.category, 0, req.offset, req.limit);
        sd_request_fin(&req);
    } else {
        struct sd_response r;
        memset(&r, 0, sizeof r);
        codec_set_error(&r, &e);
        if (e.status < 400 || e.status > 499 || !r.body)
            abort();
        size_t hl;
        free(codec_format_head(&r, 1, 0, &hl));
        sd_response_fin(&r);
    }
    free(target);
}

/* The codec on the input as a whole request head and as a target. */
static void codec_raw(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (size)
        memcpy(buf, data, size);
    struct codec_head h;
    struct codec_error e;
    size_t used = 0;
    int rc = codec_parse_head(buf, size, &h, &used, &e);
    if (rc == 0) {
        if (used > size || !h.method || h.target_len == 0)
            abort();
        struct sd_request req;
        if (codec_parse_target(h.method, h.method_len, h.target, h.target_len, &req, &e) == 0)
            sd_request_fin(&req);
        if (h.token)
            (void)kb_net_token_equal(h.token, h.token_len, "s3cret-token");
    } else if (rc < 0) {
        codec_head_overflow(buf, size, &e);
    }
    unsigned state = 0;
    if (codec_scan_head_end(&state, buf, size) > size)
        abort();
    struct sd_request req;
    if (size && codec_parse_target("HEAD", 4, buf, size, &req, &e) == 0)
        sd_request_fin(&req);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * KB_SEARCH_MAX_QUERY)
        return -1; /* longer queries are refused before they reach the core */
    char *q = malloc(size ? size : 1);
    if (size)
        memcpy(q, data, size);
    uint8_t sel = size ? data[0] : 0;
    search(q, size, NULL, NULL, 0, 0, 10);
    search(q, size, (sel & 1) ? "standard" : "article,known_error", (sel & 2) ? "网络" : NULL,
           1, (sel & 4) ? 3 : 0, (sel & 8) ? 100 : 1);
    suggest(q, size, sel & 16);
    free(q);
    codec_query(data, size);
    codec_raw(data, size);
    return 0;
}

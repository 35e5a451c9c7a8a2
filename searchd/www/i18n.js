/* kbdesk search page in Chinese and English: the message catalogue of
 * searchd's page (one table per language, a key per string: "sp.…"), the
 * language choice and the switch, with the conventions of the desk's pages
 * (chatdesk/www/i18n.js), which searchd cannot serve.
 *
 * The language is the one saved in localStorage ("kbdesk.lang": "zh" or
 * "en", the desk's key, so a choice made on one page holds on the other
 * when both are served from one origin) when there is one, else the
 * browser's first preferred language (navigator.languages: zh* gives
 * Chinese, anything else English). This file is loaded before every other
 * script of the page (all are deferred, so they run in order once the
 * document is parsed): it translates the static HTML at once (data-i18n:
 * the element's text; data-i18n-placeholder, -aria-label, -title: those
 * attributes), sets <html lang>, and adds a 中文 / English switch to the
 * header. Scripts build their text with kbt(key, [args]): "{0}", "{1}" ...
 * in a string are replaced by args. A key missing in English falls back to
 * Chinese, an unknown key shows the key. Switching saves the choice and
 * reloads the page; the page's state is in its URL, so it comes back where
 * it was. Documents, snippets and titles stay in the language they are
 * written in. */
'use strict';

(() => {
  const TABLES = {
    zh: {
      "sp.html.title": "知识库检索 · kbdesk",
      "sp.skip": "跳到搜索结果",
      "sp.brand": "kbdesk 知识库",
      "sp.search_label": "搜索知识文章、已知错误和标准条款",
      "sp.placeholder": "输入问题、错误码或条款号，如 VPN 809、ORA-12154、8.2.2",
      "sp.suggest_label": "输入建议",
      "sp.search_button": "搜索",
      "sp.token": "坐席令牌",
      "sp.token.on": "坐席令牌 ✓",
      "sp.token.title": "输入坐席令牌以查看内部文档",
      "sp.token.on_title": "已使用坐席令牌：可查看内部文档",
      "sp.token.label": "坐席令牌（仅保存在本标签页）",
      "sp.save": "保存",
      "sp.clear": "清除",
      "sp.results_heading": "搜索结果",
      "sp.kinds_label": "文档类型",
      "sp.kind.all": "全部",
      "sp.kind.article": "知识文章",
      "sp.kind.known_error": "已知错误",
      "sp.kind.standard": "标准条款",
      "sp.kind_short.article": "文章",
      "sp.kind_short.known_error": "已知错误",
      "sp.kind_short.standard": "标准",
      "sp.kind_short.doc": "文档",
      "sp.kind_short.term": "搜索",
      "sp.category": "分类",
      "sp.all_categories": "全部分类",
      "sp.all_standards": "全部标准",
      "sp.clear_filters": "清除筛选",
      "sp.pager_label": "分页",
      "sp.prev_page": "上一页",
      "sp.next_page": "下一页",
      "sp.page_info": "第 {0} / {1} 页",
      "sp.common_searches": "常用检索",
      "sp.std_catalogue": "标准目录",
      "sp.hint.lead": "高级写法：",
      "sp.hint.phrase": "\"精确短语\"",
      "sp.hint.not": "-排除词",
      "sp.hint.sep": "、",
      "sp.hint.end": "。",
      "sp.std_clauses": "{0} 条",
      "sp.std_browse": "从第 1 章阅读",
      "sp.std_failed": "无法读取标准目录。",
      "sp.std_loading": "正在读取标准目录…",
      "sp.title.results": "“{0}”的搜索结果",
      "sp.title.page": "kbdesk 知识库检索",
      "sp.quoted": "“{0}”",
      "sp.status_none": "没有找到与{0}相关的结果",
      "sp.status_empty_page": "{0}共 {1} 条结果，本页没有结果",
      "sp.status_hits": "{0}共 {1} 条结果，第 {2}–{3} 条（用时 {4} 毫秒）",
      "sp.corrected_before": "未找到“{0}”的结果，已显示 ",
      "sp.corrected_after": " 的结果。",
      "sp.did_you_mean": "您是不是要找：",
      "sp.first_page": "回到第一页",
      "sp.tip.spelling": "检查错别字，或换用更短、更通用的词",
      "sp.tip.codes": "错误码可以直接输入，如 0x80070005、ORA-12154",
      "sp.tip.filters": "清除筛选条件后再试",
      "sp.with_count": "{0}（{1}）",
      "sp.internal": "内部",
      "sp.updated": "更新 {0}",
      "sp.workaround_label": "临时方案：",
      "sp.status.open": "未解决",
      "sp.status.workaround": "有临时方案",
      "sp.status.resolved": "已解决",
      "sp.lang.zh": "中文",
      "sp.lang.en": "英文",
      "sp.lang.mixed": "中英混合",
      "sp.search_failed": "搜索失败：",
      "sp.doc.back": "← 返回结果",
      "sp.doc.close": "关闭文档 ×",
      "sp.doc.loading": "正在加载…",
      "sp.doc.cannot_open": "无法打开文档：",
      "sp.doc.not_found": "没有编号为 {0} 的文档，或您无权查看。",
      "sp.doc.source": "来源：",
      "sp.doc.crumbs": "条款位置",
      "sp.meta.standard": "标准",
      "sp.meta.clause": "条款",
      "sp.meta.service": "影响服务",
      "sp.meta.status": "状态",
      "sp.meta.updated": "更新日期",
      "sp.meta.product": "产品",
      "sp.meta.category": "分类",
      "sp.meta.tags": "标签",
      "sp.meta.lang": "语言",
      "sp.ke.symptom": "症状",
      "sp.ke.cause": "原因",
      "sp.ke.workaround": "临时解决方案",
      "sp.ke.resolution": "解决方案",
      "sp.ke.body": "补充说明",
      "sp.ke.no_solution": "暂无临时或最终解决方案。",
      "sp.cite.label": "引用",
      "sp.cite.copy": "复制引用",
      "sp.cite.copied": "已复制",
      "sp.cite.copied_status": "引用已复制到剪贴板",
      "sp.cite.press": "请按 Ctrl+C 复制",
      "sp.cite.press_status": "无法自动复制，引用文字已选中，请按 Ctrl+C 复制",
      "sp.nav.label": "条款导航",
      "sp.nav.parent": "上级",
      "sp.nav.prev": "上一条",
      "sp.nav.next": "下一条",
      "sp.nav.children": "下级条款（{0}）",
      "sp.err.network": "无法连接搜索服务，请检查网络后重试",
      "sp.err.bad_offset": "页码超出范围",
      "sp.err.bad_limit": "每页条数无效",
      "sp.err.bad_kind": "文档类型筛选无效",
      "sp.err.bad_lang": "语言筛选无效",
      "sp.err.bad_filter": "筛选条件过长",
      "sp.err.bad_encoding": "查询包含无效字符",
      "sp.err.bad_escape": "查询包含无效字符",
      "sp.err.bad_query": "查询无法处理",
      "sp.err.missing_query": "请输入查询内容",
      "sp.err.query_too_long": "查询内容过长，请缩短后再试",
      "sp.err.uri_too_long": "请求过长",
      "sp.err.not_found": "未找到",
      "sp.err.index_unavailable": "索引暂时不可用，请稍后重试",
      "sp.err.overloaded": "服务繁忙，请稍后重试",
      "sp.err.internal": "服务内部错误，请稍后重试",
      "sp.err.http": "服务返回错误（HTTP {0}）",
      "sp.err.check_token": "（请检查坐席令牌）",
      "sp.err.bad_json": "服务返回的内容无法解析。",
      "i18n.switch": "界面语言",
    },
    en: {
      "sp.html.title": "Knowledge search · kbdesk",
      "sp.skip": "Skip to the results",
      "sp.brand": "kbdesk knowledge base",
      "sp.search_label": "Search articles, known errors and standard clauses",
      "sp.placeholder": "A problem, an error code or a clause number, e.g. VPN 809, ORA-12154, 8.2.2",
      "sp.suggest_label": "Suggestions",
      "sp.search_button": "Search",
      "sp.token": "Agent token",
      "sp.token.on": "Agent token ✓",
      "sp.token.title": "Enter an agent token to see internal documents",
      "sp.token.on_title": "Agent token in use: internal documents are shown",
      "sp.token.label": "Agent token (kept in this tab only)",
      "sp.save": "Save",
      "sp.clear": "Clear",
      "sp.results_heading": "Search results",
      "sp.kinds_label": "Document kind",
      "sp.kind.all": "All",
      "sp.kind.article": "Articles",
      "sp.kind.known_error": "Known errors",
      "sp.kind.standard": "Standard clauses",
      "sp.kind_short.article": "Article",
      "sp.kind_short.known_error": "Known error",
      "sp.kind_short.standard": "Standard",
      "sp.kind_short.doc": "Document",
      "sp.kind_short.term": "Search",
      "sp.category": "Category",
      "sp.all_categories": "All categories",
      "sp.all_standards": "All standards",
      "sp.clear_filters": "Clear filters",
      "sp.pager_label": "Pages",
      "sp.prev_page": "Previous page",
      "sp.next_page": "Next page",
      "sp.page_info": "Page {0} of {1}",
      "sp.common_searches": "Common searches",
      "sp.std_catalogue": "Standards",
      "sp.hint.lead": "Advanced: ",
      "sp.hint.phrase": "\"exact phrase\"",
      "sp.hint.not": "-excluded",
      "sp.hint.sep": ", ",
      "sp.hint.end": ".",
      "sp.std_clauses": "{0} clauses",
      "sp.std_browse": "Read from chapter 1",
      "sp.std_failed": "The list of standards could not be read.",
      "sp.std_loading": "Reading the list of standards…",
      "sp.title.results": "Results for “{0}”",
      "sp.title.page": "kbdesk knowledge search",
      "sp.quoted": "“{0}”",
      "sp.status_none": "No results for {0}",
      "sp.status_empty_page": "{0}: {1} results, none on this page",
      "sp.status_hits": "{0}: {1} results, {2}–{3} shown (took {4} ms)",
      "sp.corrected_before": "Nothing found for “{0}”; showing results for ",
      "sp.corrected_after": ".",
      "sp.did_you_mean": "Did you mean: ",
      "sp.first_page": "Back to the first page",
      "sp.tip.spelling": "Check the spelling, or try shorter, more general words",
      "sp.tip.codes": "Error codes can be typed as they are, e.g. 0x80070005, ORA-12154",
      "sp.tip.filters": "Clear the filters and try again",
      "sp.with_count": "{0} ({1})",
      "sp.internal": "Internal",
      "sp.updated": "Updated {0}",
      "sp.workaround_label": "Workaround: ",
      "sp.status.open": "Open",
      "sp.status.workaround": "Workaround available",
      "sp.status.resolved": "Resolved",
      "sp.lang.zh": "Chinese",
      "sp.lang.en": "English",
      "sp.lang.mixed": "Chinese and English",
      "sp.search_failed": "Search failed: ",
      "sp.doc.back": "← Back to the results",
      "sp.doc.close": "Close the document ×",
      "sp.doc.loading": "Loading…",
      "sp.doc.cannot_open": "The document cannot be opened: ",
      "sp.doc.not_found": "there is no document {0}, or you may not see it.",
      "sp.doc.source": "Source: ",
      "sp.doc.crumbs": "Clause position",
      "sp.meta.standard": "Standard",
      "sp.meta.clause": "Clause",
      "sp.meta.service": "Service affected",
      "sp.meta.status": "Status",
      "sp.meta.updated": "Updated",
      "sp.meta.product": "Product",
      "sp.meta.category": "Category",
      "sp.meta.tags": "Tags",
      "sp.meta.lang": "Language",
      "sp.ke.symptom": "Symptom",
      "sp.ke.cause": "Cause",
      "sp.ke.workaround": "Workaround",
      "sp.ke.resolution": "Resolution",
      "sp.ke.body": "Notes",
      "sp.ke.no_solution": "No workaround or resolution yet.",
      "sp.cite.label": "Citation",
      "sp.cite.copy": "Copy citation",
      "sp.cite.copied": "Copied",
      "sp.cite.copied_status": "Citation copied to the clipboard",
      "sp.cite.press": "Press Ctrl+C to copy",
      "sp.cite.press_status": "Could not copy automatically; the citation is selected, press Ctrl+C to copy it",
      "sp.nav.label": "Clause navigation",
      "sp.nav.parent": "Parent",
      "sp.nav.prev": "Previous",
      "sp.nav.next": "Next",
      "sp.nav.children": "Sub-clauses ({0})",
      "sp.err.network": "The search service cannot be reached; check the network and try again",
      "sp.err.bad_offset": "The page is out of range",
      "sp.err.bad_limit": "Invalid number of results per page",
      "sp.err.bad_kind": "Invalid document kind filter",
      "sp.err.bad_lang": "Invalid language filter",
      "sp.err.bad_filter": "The filter is too long",
      "sp.err.bad_encoding": "The query contains invalid characters",
      "sp.err.bad_escape": "The query contains invalid characters",
      "sp.err.bad_query": "The query cannot be processed",
      "sp.err.missing_query": "Enter something to search for",
      "sp.err.query_too_long": "The query is too long; shorten it and try again",
      "sp.err.uri_too_long": "The request is too long",
      "sp.err.not_found": "Not found",
      "sp.err.index_unavailable": "The index is unavailable for now; try again later",
      "sp.err.overloaded": "The service is busy; try again later",
      "sp.err.internal": "Internal error of the service; try again later",
      "sp.err.http": "The service answered with an error (HTTP {0})",
      "sp.err.check_token": " (check the agent token)",
      "sp.err.bad_json": "The service's answer could not be read.",
      "i18n.switch": "Interface language",
    },
  };
  const KEY = 'kbdesk.lang';

  function saved() {
    try {
      const v = window.localStorage.getItem(KEY);
      return v === 'zh' || v === 'en' ? v : null;
    } catch { return null; }
  }

  function fromBrowser() {
    const list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'zh'];
    return /^zh\b/i.test(String(list[0] || '')) ? 'zh' : 'en';
  }

  let lang = saved() || fromBrowser();

  /* The text of key in the current language, "{n}" replaced by args[n]
   * (null / undefined: nothing). */
  function kbt(key, args) {
    let s = TABLES[lang][key];
    if (s === undefined) s = TABLES.zh[key];
    if (s === undefined) return key;
    if (args) s = s.replace(/\{(\d)\}/g, (m, i) => (args[i] === undefined || args[i] === null ? '' : String(args[i])));
    return s;
  }

  /* Translates the static text under root. */
  function apply(root) {
    for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = kbt(e.dataset.i18n);
    for (const a of ['placeholder', 'aria-label', 'title']) {
      for (const e of root.querySelectorAll(`[data-i18n-${a}]`)) e.setAttribute(a, kbt(e.getAttribute(`data-i18n-${a}`)));
    }
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }

  /* Saves the choice and reloads; without storage the static text is
   * switched in place (and the choice lasts until the page is left). */
  function setLang(code) {
    if (code !== 'zh' && code !== 'en') return;
    let stored = false;
    try { window.localStorage.setItem(KEY, code); stored = window.localStorage.getItem(KEY) === code; } catch { /* disabled */ }
    if (code === lang) return;
    if (stored) { window.location.reload(); return; }
    lang = code;
    apply(document);
    for (const b of document.querySelectorAll('.lang-switch button')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
  }

  function addSwitch() {
    const box = document.querySelector('header .top-right');
    if (!box || box.querySelector('.lang-switch')) return;
    const wrap = document.createElement('span');
    wrap.className = 'lang-switch';
    wrap.setAttribute('role', 'group');
    wrap.setAttribute('aria-label', kbt('i18n.switch'));
    wrap.setAttribute('data-testid', 'lang-switch');
    for (const [code, label, tag] of [['zh', '中文', 'zh-CN'], ['en', 'English', 'en']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn-link';
      b.lang = tag;
      b.dataset.lang = code;
      b.textContent = label;
      b.setAttribute('data-testid', `lang-${code}`);
      b.setAttribute('aria-pressed', String(code === lang));
      b.addEventListener('click', () => setLang(code));
      wrap.append(b);
    }
    box.prepend(wrap);
  }

  window.kbt = kbt;
  window.kbdeskI18n = { get lang() { return lang; }, t: kbt, apply, setLang };
  apply(document);
  addSwitch();
})();

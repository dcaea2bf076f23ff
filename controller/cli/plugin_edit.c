/*
 * plugin_edit.c — one field of one pipeline set in its spec file's text
 * (plugin_edit.h).
 *
 * A YAML file is cut into documents at `---` lines; each is parsed alone to
 * find the pipeline's. In that document the path is followed line by line:
 * a key's children are the lines after it that are indented more; the first
 * such line gives the children's indentation. A key that is found is
 * rewritten (the last) or entered (the others); one that is missing is
 * inserted with the remaining keys right under its parent (at the end of the
 * document for a top-level key). The result is checked by parsing it again.
 */
#include "cli/plugin_edit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/yamljson.h"

struct line {
    const char *p;
    size_t len; /* without the newline */
};

/* A growable text with a ceiling-free append (files are bounded by the
 * caller's read limit). */
struct text {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_indent(struct text *t, int n)
{
    for (int i = 0; i < n; i++)
        put(t, " ", 1);
}

static int indent_of(const struct line *l)
{
    size_t i = 0;
    while (i < l->len && l->p[i] == ' ')
        i++;
    return (int)i;
}

/* Blank, a comment, or a document marker: not a key line. */
static bool is_filler(const struct line *l)
{
    int i = indent_of(l);
    if ((size_t)i == l->len || l->p[i] == '#')
        return true;
    return i == 0 && l->len >= 3 && (strncmp(l->p, "---", 3) == 0 || strncmp(l->p, "...", 3) == 0) &&
           (l->len == 3 || l->p[3] == ' ' || l->p[3] == '\t');
}

/* The offset just after "key:" when line l (from its indentation) is that
 * key, plain or quoted; 0 when it is not. */
static size_t key_end(const struct line *l, const char *key)
{
    size_t i = (size_t)indent_of(l), k = strlen(key);
    const char *s = l->p + i;
    size_t rest = l->len - i;
    size_t n = 0;
    if (rest > k + 2 && (s[0] == '"' || s[0] == '\'') && strncmp(s + 1, key, k) == 0 &&
        s[k + 1] == s[0])
        n = k + 2;
    else if (rest >= k && strncmp(s, key, k) == 0)
        n = k;
    else
        return 0;
    if (n >= rest || s[n] != ':' || (n + 1 < rest && s[n + 1] != ' ' && s[n + 1] != '\t'))
        return 0;
    return i + n + 1;
}

/* Nothing but blanks and a comment after offset `from` of l. */
static bool rest_empty(const struct line *l, size_t from)
{
    while (from < l->len && (l->p[from] == ' ' || l->p[from] == '\t'))
        from++;
    return from == l->len || l->p[from] == '#';
}

static size_t split_lines(const char *s, size_t len, struct line *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - s) : len;
        if (out)
            out[n] = (struct line){s + i, e - i};
        n++;
        i = e + 1;
    }
    return n;
}

/* The document text with path set to value_text by editing lines, or NULL
 * (not block style, or out of memory). Owned. */
static char *edit_lines(const char *seg, size_t len, const char *const *path, const char *value_text)
{
    size_t n = split_lines(seg, len, NULL);
    struct line *lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines)
        return NULL;
    split_lines(seg, len, lines);
    size_t lo = 0, hi = n, at = 0; /* at: the line to replace or insert before */
    int parent = -1;
    bool replace = false;
    size_t cut = 0; /* replace: where the value starts on the line */
    const char *const *key = path;
    int child = -1;
    for (; *key; key++) {
        child = -1;
        size_t found = SIZE_MAX;
        for (size_t i = lo; i < hi; i++) {
            if (is_filler(&lines[i]))
                continue;
            int ind = indent_of(&lines[i]);
            if (child < 0)
                child = ind;
            if (ind == child && key_end(&lines[i], *key)) {
                found = i;
                break;
            }
        }
        if (found == SIZE_MAX) {
            at = parent < 0 ? hi : lo;
            if (parent < 0)
                child = 0;
            else if (child < 0)
                child = parent + 2;
            break;
        }
        size_t e = key_end(&lines[found], *key);
        if (!key[1]) {
            replace = true;
            at = found;
            cut = e;
            break;
        }
        if (!rest_empty(&lines[found], e)) {
            free(lines);
            return NULL; /* a flow-style map: {…} */
        }
        parent = child;
        lo = found + 1;
        size_t end = lo;
        while (end < hi && (is_filler(&lines[end]) || indent_of(&lines[end]) > parent))
            end++;
        hi = end;
    }
    struct text t = {0};
    for (size_t i = 0; i < n; i++) {
        if (i == at && replace) {
            put(&t, lines[i].p, cut);
            puts_(&t, " ");
            puts_(&t, value_text);
            puts_(&t, "\n");
            continue;
        }
        if (i == at && !replace) {
            int ind = child;
            for (const char *const *k = key; *k; k++, ind += 2) {
                put_indent(&t, ind);
                puts_(&t, *k);
                puts_(&t, k[1] ? ":\n" : ": ");
            }
            puts_(&t, value_text);
            puts_(&t, "\n");
        }
        put(&t, lines[i].p, lines[i].len);
        if (i + 1 < n || (len > 0 && seg[len - 1] == '\n'))
            puts_(&t, "\n");
    }
    if (at >= n && !replace) {
        if (t.len > 0 && t.p[t.len - 1] != '\n')
            puts_(&t, "\n");
        int ind = child;
        for (const char *const *k = key; *k; k++, ind += 2) {
            put_indent(&t, ind);
            puts_(&t, *k);
            puts_(&t, k[1] ? ":\n" : ": ");
        }
        puts_(&t, value_text);
        puts_(&t, "\n");
    }
    free(lines);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    return t.p ? t.p : strdup("");
}

static bool is_pipeline(const cJSON *doc, const char *ns, const char *default_ns, const char *name)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
    return n && strcmp(n, name) == 0 && strcmp(d ? d : default_ns, ns) == 0;
}

/* Sets path to a copy of value in doc, creating maps. 0 or SH_ENOMEM. */
static int set_path(cJSON *doc, const char *const *path, const cJSON *value)
{
    cJSON *o = doc;
    for (; path[1]; path++) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(o, *path);
        if (!cJSON_IsObject(c)) {
            cJSON_DeleteItemFromObjectCaseSensitive(o, *path);
            c = cJSON_CreateObject();
            if (!c || !cJSON_AddItemToObject(o, *path, c)) {
                cJSON_Delete(c);
                return SH_ENOMEM;
            }
        }
        o = c;
    }
    cJSON *v = cJSON_Duplicate(value, true);
    if (!v)
        return SH_ENOMEM;
    cJSON_DeleteItemFromObjectCaseSensitive(o, *path);
    if (!cJSON_AddItemToObject(o, *path, v)) {
        cJSON_Delete(v);
        return SH_ENOMEM;
    }
    return 0;
}

static int edit_json(const char *text, size_t len, const char *file, const char *ns,
                     const char *default_ns, const char *name, const char *const *path,
                     const cJSON *value, char **ret_text, char **ret_err)
{
    cJSON *docs = NULL;
    int r = json_parse_document(text, len, file, &docs, ret_err);
    if (r != 0)
        return r;
    cJSON *root = cJSON_GetArrayItem(docs, 0), *target = NULL;
    if (cJSON_IsArray(root)) {
        cJSON *d;
        cJSON_ArrayForEach(d, root) if (is_pipeline(d, ns, default_ns, name) && !target) target = d;
    } else if (is_pipeline(root, ns, default_ns, name)) {
        target = root;
    }
    r = SH_ENOTFOUND;
    if (target && (r = set_path(target, path, value)) == 0) {
        char *s = cJSON_Print(root);
        size_t n = s ? strlen(s) : 0;
        char *out = s ? realloc(s, n + 2) : NULL;
        if (!out) {
            free(s);
            r = SH_ENOMEM;
        } else {
            memcpy(out + n, "\n", 2);
            *ret_text = out;
        }
    }
    cJSON_Delete(docs);
    return r;
}

/* The edited text of one YAML document seg (already known to be the
 * pipeline's, parsed as doc): the line edit when it checks out, else the
 * document re-emitted. Owned, or NULL when out of memory. */
static char *edit_document(const char *seg, size_t len, const cJSON *doc, const char *const *path,
                           const cJSON *value)
{
    cJSON *want = cJSON_Duplicate(doc, true);
    char *vt = cJSON_PrintUnformatted(value);
    char *out = NULL;
    if (!want || !vt || set_path(want, path, value) != 0)
        goto done;
    out = edit_lines(seg, len, path, vt);
    if (out) {
        cJSON *got = NULL;
        char *err = NULL;
        bool ok = yaml_parse_documents(out, strlen(out), "edit", &got, &err) == 0 &&
                  cJSON_GetArraySize(got) == 1 && cJSON_Compare(cJSON_GetArrayItem(got, 0), want, true);
        cJSON_Delete(got);
        free(err);
        if (ok)
            goto done;
        free(out);
        out = NULL;
    }
    char *y = yaml_emit(want);
    if (y) {
        struct text t = {0};
        if (len >= 3 && strncmp(seg, "---", 3) == 0)
            puts_(&t, "---\n");
        puts_(&t, y);
        free(y);
        out = t.oom ? NULL : t.p;
        if (t.oom)
            free(t.p);
    }
done:
    cJSON_Delete(want);
    free(vt);
    return out;
}

int plugin_edit_set(const char *text, size_t len, const char *file, bool json, const char *ns,
                    const char *default_ns, const char *name, const char *const *path,
                    const cJSON *value, char **ret_text, char **ret_err)
{
    if (json)
        return edit_json(text, len, file, ns, default_ns, name, path, value, ret_text, ret_err);
    cJSON *all = NULL;
    int r = yaml_parse_documents(text, len, file, &all, ret_err);
    if (r != 0)
        return r;
    cJSON_Delete(all);
    /* documents start at `---` lines */
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        bool boundary = i == len || (i > start && (text[i - 1] == '\n') && len - i >= 3 &&
                                     strncmp(text + i, "---", 3) == 0 &&
                                     (len - i == 3 || strchr(" \t\r\n", text[i + 3])));
        if (!boundary)
            continue;
        cJSON *docs = NULL;
        char *err = NULL;
        size_t seglen = i - start;
        if (yaml_parse_documents(text + start, seglen, file, &docs, &err) == 0 &&
            cJSON_GetArraySize(docs) == 1 &&
            is_pipeline(cJSON_GetArrayItem(docs, 0), ns, default_ns, name)) {
            char *doc_text = edit_document(text + start, seglen, cJSON_GetArrayItem(docs, 0), path, value);
            cJSON_Delete(docs);
            if (!doc_text)
                return SH_ENOMEM;
            struct text t = {0};
            put(&t, text, start);
            puts_(&t, doc_text);
            free(doc_text);
            if (t.len > 0 && t.p[t.len - 1] != '\n' && i < len)
                puts_(&t, "\n");
            put(&t, text + i, len - i);
            if (t.oom || !t.p) {
                free(t.p);
                return SH_ENOMEM;
            }
            *ret_text = t.p;
            return 0;
        }
        cJSON_Delete(docs);
        free(err);
        start = i;
    }
    return SH_ENOTFOUND;
}

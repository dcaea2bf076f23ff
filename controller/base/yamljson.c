/*
 * yamljson.c — YAML and JSON text to cJSON trees and back (yamljson.h): an
 * event-driven libyaml loader with YAML 1.2 core-schema resolution, anchors,
 * and size / depth / node bounds; a JSON front end over cJSON; and a
 * block-style YAML emitter whose output reads back as the same tree.
 */
#include "base/yamljson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/errors.h"
#include "base/fsutil.h"

#define YJ_MAX_INPUT ((size_t)8 << 20) /* bytes of YAML or JSON text */
#define YJ_MAX_DEPTH 64                /* nested mappings / sequences */
#define YJ_MAX_NODES 100000            /* values per stream, alias copies included */
#define YJ_SMALL_MAP 16                /* larger mappings find duplicates with a hash set */
#define YJ_SIMPLE_KEY_MAX 1000         /* longer emitted keys use the explicit "? " form */

/* ------------------------------------------------------------------ */
/* A string-keyed open-addressing table; keys are borrowed, not copied. */

struct hslot {
    const char *key;
    size_t val;
};

struct htab {
    struct hslot *slots;
    size_t cap, n;
};

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static struct hslot *htab_slot(const struct htab *t, const char *key)
{
    size_t mask = t->cap - 1, i = hash_str(key) & mask;
    while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return &t->slots[i];
}

static struct hslot *htab_find(const struct htab *t, const char *key)
{
    if (t->cap == 0)
        return NULL;
    struct hslot *s = htab_slot(t, key);
    return s->key ? s : NULL;
}

/* Sets key (which must outlive the table) to val. Returns 0 or SH_ENOMEM. */
static int htab_put(struct htab *t, const char *key, size_t val)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 32;
        struct hslot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return SH_ENOMEM;
        struct htab nt = {ns, ncap, 0};
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].key)
                *htab_slot(&nt, t->slots[i].key) = t->slots[i];
        nt.n = t->n;
        free(t->slots);
        *t = nt;
    }
    struct hslot *s = htab_slot(t, key);
    if (!s->key) {
        s->key = key;
        t->n++;
    }
    s->val = val;
    return 0;
}

static void htab_clear(struct htab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

/* ------------------------------------------------------------------ */
/* Positions and scalar resolution, shared by the loaders and the emitter. */

/* 1-based line and column (in characters) of byte offset pos of buf. */
static void line_col(const char *buf, size_t len, size_t pos, size_t *ret_line, size_t *ret_col)
{
    size_t line = 1, col = 1;
    if (pos > len)
        pos = len;
    for (size_t i = 0; buf && i < pos; i++) {
        if (buf[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
}

enum kind { K_STR, K_NULL, K_TRUE, K_FALSE, K_INT, K_FLOAT };

static bool is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

static size_t count_digits(const char *s, int base)
{
    size_t n = 0;
    for (;; n++) {
        char c = s[n];
        bool ok = base == 8 ? (c >= '0' && c <= '7')
                  : base == 16
                      ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                      : (c >= '0' && c <= '9');
        if (!ok)
            return n;
    }
}

static double digits_value(const char *s, int base)
{
    double v = 0;
    for (; *s; s++) {
        int d = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;
        v = v * base + d;
    }
    return v;
}

/*
 * Resolves a plain scalar s (NUL-terminated, no other NULs) by the YAML 1.2
 * core schema; numbers go to *ret_num.
 */
static enum kind classify_plain(const char *s, double *ret_num)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};

    if (is_one_of(s, nulls))
        return K_NULL;
    if (is_one_of(s, trues))
        return K_TRUE;
    if (is_one_of(s, falses))
        return K_FALSE;
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        int base = s[1] == 'o' ? 8 : 16;
        size_t nd = count_digits(s + 2, base);
        if (nd == 0 || s[2 + nd] != '\0')
            return K_STR;
        *ret_num = digits_value(s + 2, base);
        return K_INT;
    }
    if (is_one_of(s, nans)) {
        *ret_num = NAN;
        return K_FLOAT;
    }
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (is_one_of(s + i, infs)) {
        *ret_num = s[0] == '-' ? -INFINITY : INFINITY;
        return K_FLOAT;
    }
    size_t nd = count_digits(s + i, 10);
    if (nd > 0 && s[i + nd] == '\0') {
        *ret_num = strtod(s, NULL);
        return K_INT;
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    size_t j = i + nd;
    if (s[j] == '.') {
        size_t nf = count_digits(s + j + 1, 10);
        if (nd == 0 && nf == 0)
            return K_STR;
        j += 1 + nf;
    } else if (nd == 0) {
        return K_STR;
    }
    if (s[j] == 'e' || s[j] == 'E') {
        j++;
        if (s[j] == '+' || s[j] == '-')
            j++;
        size_t ne = count_digits(s + j, 10);
        if (ne == 0)
            return K_STR;
        j += ne;
    }
    if (s[j] != '\0')
        return K_STR;
    *ret_num = strtod(s, NULL);
    return K_FLOAT;
}

/* cJSON_CreateNumber casts to int, which NaN does not survive; avoid it. */
static cJSON *make_number(double d)
{
    if (!isnan(d))
        return cJSON_CreateNumber(d);
    cJSON *n = cJSON_CreateNumber(0);
    if (n)
        n->valuedouble = d;
    return n;
}

/* ------------------------------------------------------------------ */
/* The YAML loader. */

struct anchor {
    char *name;
    cJSON *node;  /* the anchored value: in the tree, or owned when `owned` */
    bool owned;   /* anchors on mapping keys have no place in the tree */
    char *text;   /* a scalar's source text (for aliases used as keys), or NULL */
    size_t count; /* nodes a copy adds */
    int height;   /* nesting levels a copy adds */
};

struct yctx {
    yaml_parser_t parser;
    const char *name;
    const char *buf;
    size_t len;
    size_t nodes;
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    struct htab anchor_index;
    int err;
    char *msg;
};

static void oom(struct yctx *c)
{
    if (!c->err)
        c->err = SH_ENOMEM;
}

/* Records the first error as "name:LINE:COL: reason". */
__attribute__((format(printf, 5, 6))) static void set_err(struct yctx *c, size_t line, size_t col,
                                                          int code, const char *fmt, ...)
{
    if (c->err)
        return;
    c->err = code;
    char *reason = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&reason, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    if (asprintf(&c->msg, "%s:%zu:%zu: %s", c->name, line, col, reason) < 0)
        c->msg = NULL;
    free(reason);
}

#define MARK(m) (size_t)(m).line + 1, (size_t)(m).column + 1

static void parser_error(struct yctx *c)
{
    const yaml_parser_t *p = &c->parser;
    if (p->error == YAML_MEMORY_ERROR) {
        oom(c);
        return;
    }
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        size_t line, col;
        line_col(c->buf, c->len, p->problem_offset, &line, &col);
        set_err(c, line, col, SH_EPARSE, "%s", problem);
        return;
    }
    set_err(c, MARK(p->problem_mark), SH_EPARSE, "%s", problem);
}

static int next_event(struct yctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev))
        return 0;
    parser_error(c);
    return -1;
}

static int count_nodes(struct yctx *c, size_t n, yaml_mark_t mark)
{
    if (n > YJ_MAX_NODES - c->nodes) {
        set_err(c, MARK(mark), SH_ETOOBIG, "more than %d values (aliases count as copies)",
                YJ_MAX_NODES);
        return -1;
    }
    c->nodes += n;
    return 0;
}

static void anchor_release(struct anchor *a)
{
    if (a->owned)
        cJSON_Delete(a->node);
    free(a->text);
    a->node = NULL;
    a->text = NULL;
}

/* Forgets all anchors (a new document starts, or the parse ends). */
static void anchors_reset(struct yctx *c)
{
    for (size_t i = 0; i < c->n_anchors; i++) {
        anchor_release(&c->anchors[i]);
        free(c->anchors[i].name);
    }
    c->n_anchors = 0;
    htab_clear(&c->anchor_index);
}

static struct anchor *anchor_find(const struct yctx *c, const char *name)
{
    struct hslot *s = htab_find(&c->anchor_index, name);
    return s ? &c->anchors[s->val] : NULL;
}

/* Binds name to node (taken over when owned, also on failure). Returns 0 or -1. */
static int anchor_set(struct yctx *c, const char *name, cJSON *node, bool owned, const char *text,
                      size_t count, int height)
{
    char *tcopy = NULL;
    if (text && !(tcopy = strdup(text)))
        goto fail;
    struct anchor *a = anchor_find(c, name);
    if (a) {
        anchor_release(a);
    } else {
        if (c->n_anchors == c->cap_anchors) {
            size_t ncap = c->cap_anchors ? c->cap_anchors * 2 : 16;
            struct anchor *na = realloc(c->anchors, ncap * sizeof *na);
            if (!na)
                goto fail;
            c->anchors = na;
            c->cap_anchors = ncap;
        }
        char *ncopy = strdup(name);
        if (!ncopy)
            goto fail;
        if (htab_put(&c->anchor_index, ncopy, c->n_anchors) != 0) {
            free(ncopy);
            goto fail;
        }
        a = &c->anchors[c->n_anchors++];
        a->name = ncopy;
    }
    a->node = node;
    a->owned = owned;
    a->text = tcopy;
    a->count = count;
    a->height = height;
    return 0;
fail:
    free(tcopy);
    if (owned)
        cJSON_Delete(node);
    oom(c);
    return -1;
}

static const char *const core_tags[] = {YAML_NULL_TAG, YAML_BOOL_TAG, YAML_INT_TAG, YAML_FLOAT_TAG,
                                        NULL};

/* Builds the value of a scalar event, by its tag, style and text. */
static cJSON *scalar_node(struct yctx *c, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(text, '\0', len)) {
        set_err(c, MARK(ev->start_mark), SH_EPARSE, "NUL character in a scalar");
        return NULL;
    }
    const char *tag = (const char *)ev->data.scalar.tag;
    double num = 0;
    enum kind k = K_STR;
    if (tag && is_one_of(tag, core_tags)) {
        k = classify_plain(text, &num);
        const char *want = tag + strlen("tag:yaml.org,2002:");
        bool ok = strcmp(want, "null") == 0   ? k == K_NULL
                  : strcmp(want, "bool") == 0 ? (k == K_TRUE || k == K_FALSE)
                  : strcmp(want, "int") == 0  ? k == K_INT
                                              : (k == K_INT || k == K_FLOAT);
        if (!ok) {
            set_err(c, MARK(ev->start_mark), SH_EPARSE, "\"%.100s\" is not a valid !!%s", text,
                    want);
            return NULL;
        }
    } else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               !(tag && (strcmp(tag, "!") == 0 || strcmp(tag, YAML_STR_TAG) == 0))) {
        k = classify_plain(text, &num);
    }
    cJSON *node;
    switch (k) {
    case K_NULL:
        node = cJSON_CreateNull();
        break;
    case K_TRUE:
        node = cJSON_CreateTrue();
        break;
    case K_FALSE:
        node = cJSON_CreateFalse();
        break;
    case K_INT:
    case K_FLOAT:
        node = make_number(num);
        break;
    default:
        node = cJSON_CreateString(text);
        break;
    }
    if (!node) {
        oom(c);
        return NULL;
    }
    if (count_nodes(c, 1, ev->start_mark) != 0) {
        cJSON_Delete(node);
        return NULL;
    }
    return node;
}

static cJSON *parse_node(struct yctx *c, yaml_event_t *ev, int depth, int *ret_height);

/* A deep copy of the anchored value an alias event names. */
static cJSON *alias_node(struct yctx *c, const yaml_event_t *ev, int depth, int *ret_height)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const struct anchor *a = anchor_find(c, name);
    if (!a) {
        set_err(c, MARK(ev->start_mark), SH_EPARSE, "unknown anchor \"%.100s\"", name);
        return NULL;
    }
    if (depth + a->height > YJ_MAX_DEPTH) {
        set_err(c, MARK(ev->start_mark), SH_ETOOBIG, "nesting deeper than %d levels", YJ_MAX_DEPTH);
        return NULL;
    }
    if (count_nodes(c, a->count, ev->start_mark) != 0)
        return NULL;
    cJSON *copy = cJSON_Duplicate(a->node, 1);
    if (!copy) {
        oom(c);
        return NULL;
    }
    if (copy->string) {
        if (!(copy->type & cJSON_StringIsConst))
            cJSON_free(copy->string);
        copy->string = NULL;
    }
    *ret_height = a->height;
    return copy;
}

/* The text of a mapping key (owned); consumes the event. */
static char *key_text(struct yctx *c, yaml_event_t *ev)
{
    char *text = NULL;
    if (ev->type == YAML_SCALAR_EVENT) {
        const char *anchor = (const char *)ev->data.scalar.anchor;
        cJSON *node = anchor ? scalar_node(c, ev) : NULL;
        if (anchor && !node)
            goto out;
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
            set_err(c, MARK(ev->start_mark), SH_EPARSE, "NUL character in a scalar");
            goto out;
        }
        text = strdup((const char *)ev->data.scalar.value);
        if (!text) {
            cJSON_Delete(node);
            oom(c);
            goto out;
        }
        if (anchor && anchor_set(c, anchor, node, true, text, 1, 0) != 0) {
            free(text);
            text = NULL;
        }
    } else if (ev->type == YAML_ALIAS_EVENT) {
        const char *name = (const char *)ev->data.alias.anchor;
        const struct anchor *a = anchor_find(c, name);
        if (!a)
            set_err(c, MARK(ev->start_mark), SH_EPARSE, "unknown anchor \"%.100s\"", name);
        else if (!a->text)
            set_err(c, MARK(ev->start_mark), SH_EPARSE, "mapping keys must be scalars");
        else if (!(text = strdup(a->text)))
            oom(c);
    } else {
        set_err(c, MARK(ev->start_mark), SH_EPARSE, "mapping keys must be scalars");
    }
out:
    yaml_event_delete(ev);
    return text;
}

static bool depth_ok(struct yctx *c, int depth, yaml_mark_t mark)
{
    if (depth < YJ_MAX_DEPTH)
        return true;
    set_err(c, MARK(mark), SH_ETOOBIG, "nesting deeper than %d levels", YJ_MAX_DEPTH);
    return false;
}

static cJSON *parse_sequence(struct yctx *c, yaml_mark_t mark, int depth, int *ret_height)
{
    if (!depth_ok(c, depth, mark))
        return NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        oom(c);
        return NULL;
    }
    if (count_nodes(c, 1, mark) != 0)
        goto fail;
    int height = 0;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev) != 0)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        int h = 0;
        cJSON *item = parse_node(c, &ev, depth + 1, &h);
        if (!item)
            goto fail;
        if (!cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            oom(c);
            goto fail;
        }
        if (h > height)
            height = h;
    }
    *ret_height = height + 1;
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

static cJSON *parse_mapping(struct yctx *c, yaml_mark_t mark, int depth, int *ret_height)
{
    if (!depth_ok(c, depth, mark))
        return NULL;
    cJSON *obj = cJSON_CreateObject();
    if (!obj) {
        oom(c);
        return NULL;
    }
    struct htab seen = {0};
    size_t n_keys = 0;
    int height = 0;
    if (count_nodes(c, 1, mark) != 0)
        goto fail;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev) != 0)
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_mark_t kmark = ev.start_mark;
        char *key = key_text(c, &ev);
        if (!key)
            goto fail;
        if (n_keys == YJ_SMALL_MAP) {
            for (const cJSON *it = obj->child; it; it = it->next)
                if (htab_put(&seen, it->string, 0) != 0) {
                    free(key);
                    oom(c);
                    goto fail;
                }
        }
        bool dup = n_keys < YJ_SMALL_MAP ? cJSON_GetObjectItemCaseSensitive(obj, key) != NULL
                                         : htab_find(&seen, key) != NULL;
        if (dup) {
            set_err(c, MARK(kmark), SH_EPARSE, "duplicate key \"%.200s\"", key);
            free(key);
            goto fail;
        }
        int h = 0;
        cJSON *value = NULL;
        if (next_event(c, &ev) == 0)
            value = parse_node(c, &ev, depth + 1, &h);
        if (!value) {
            free(key);
            goto fail;
        }
        bool added = cJSON_AddItemToObject(obj, key, value);
        free(key);
        if (!added) {
            cJSON_Delete(value);
            oom(c);
            goto fail;
        }
        n_keys++;
        if (seen.cap && htab_put(&seen, value->string, 0) != 0) {
            oom(c);
            goto fail;
        }
        if (h > height)
            height = h;
    }
    htab_clear(&seen);
    *ret_height = height + 1;
    return obj;
fail:
    htab_clear(&seen);
    cJSON_Delete(obj);
    return NULL;
}

/* Builds the value that starts with ev (consumed), registering its anchor. */
static cJSON *parse_node(struct yctx *c, yaml_event_t *ev, int depth, int *ret_height)
{
    cJSON *node = NULL;
    const char *anchor = NULL, *text = NULL;
    size_t before = c->nodes;
    int height = 0;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        node = alias_node(c, ev, depth, &height);
        break;
    case YAML_SCALAR_EVENT:
        anchor = (const char *)ev->data.scalar.anchor;
        text = (const char *)ev->data.scalar.value;
        node = scalar_node(c, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = (const char *)ev->data.sequence_start.anchor;
        node = parse_sequence(c, ev->start_mark, depth, &height);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = (const char *)ev->data.mapping_start.anchor;
        node = parse_mapping(c, ev->start_mark, depth, &height);
        break;
    default:
        set_err(c, MARK(ev->start_mark), SH_EPARSE, "unexpected YAML event");
        break;
    }
    if (node && anchor &&
        anchor_set(c, anchor, node, false, text, c->nodes - before, height) != 0) {
        cJSON_Delete(node);
        node = NULL;
    }
    yaml_event_delete(ev);
    if (node)
        *ret_height = height;
    return node;
}

/* Parses one document (after its start event) and appends it unless empty. */
static void parse_document(struct yctx *c, cJSON *docs)
{
    yaml_event_t ev;
    int height = 0;
    if (next_event(c, &ev) != 0)
        return;
    cJSON *root = parse_node(c, &ev, 0, &height);
    if (!root)
        return;
    if (next_event(c, &ev) != 0) {
        cJSON_Delete(root);
        return;
    }
    yaml_event_delete(&ev); /* the document end */
    if (cJSON_IsNull(root)) {
        cJSON_Delete(root);
        return;
    }
    if (!cJSON_AddItemToArray(docs, root)) {
        cJSON_Delete(root);
        oom(c);
    }
}

static int too_big(const char *name, char **ret_err)
{
    if (ret_err && asprintf(ret_err, "%s: larger than %zu bytes", name, YJ_MAX_INPUT) < 0)
        *ret_err = NULL;
    return SH_ETOOBIG;
}

int yaml_parse_documents(const char *buf, size_t len, const char *name, cJSON **ret_docs,
                         char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    if (!name)
        name = "<input>";
    if (len > YJ_MAX_INPUT)
        return too_big(name, ret_err);
    if (!buf) {
        buf = "";
        len = 0;
    }
    struct yctx c = {.name = name, .buf = buf, .len = len};
    if (!yaml_parser_initialize(&c.parser))
        return SH_ENOMEM;
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
    cJSON *docs = cJSON_CreateArray();
    if (!docs)
        oom(&c);
    for (bool done = false; !c.err && !done;) {
        yaml_event_t ev;
        if (next_event(&c, &ev) != 0)
            break;
        yaml_event_type_t type = ev.type;
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT) {
            done = true;
        } else if (type == YAML_DOCUMENT_START_EVENT) {
            anchors_reset(&c);
            parse_document(&c, docs);
        }
    }
    anchors_reset(&c);
    free(c.anchors);
    yaml_parser_delete(&c.parser);
    if (c.err) {
        cJSON_Delete(docs);
        if (ret_err)
            *ret_err = c.msg;
        else
            free(c.msg);
        return c.err;
    }
    *ret_docs = docs;
    return 0;
}

/* ------------------------------------------------------------------ */
/* JSON. */

/* Offset of the first '[' or '{' nested deeper than YJ_MAX_DEPTH in valid
 * JSON text, or len when none is. */
static size_t json_too_deep_at(const char *s, size_t len)
{
    bool in_str = false, esc = false;
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > YJ_MAX_DEPTH)
                return i;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return len;
}

__attribute__((format(printf, 6, 7))) static int json_err(const char *buf, size_t len, size_t pos,
                                                          const char *name, char **ret_err,
                                                          const char *fmt, ...)
{
    if (!ret_err)
        return 0;
    size_t line, col;
    line_col(buf, len, pos, &line, &col);
    char *reason = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&reason, fmt, ap);
    va_end(ap);
    if (r < 0 || asprintf(ret_err, "%s:%zu:%zu: %s", name, line, col, reason) < 0)
        *ret_err = NULL;
    free(reason);
    return 0;
}

int json_parse_document(const char *buf, size_t len, const char *name, cJSON **ret_docs,
                        char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    if (!name)
        name = "<input>";
    if (len > YJ_MAX_INPUT)
        return too_big(name, ret_err);
    if (!buf) {
        buf = "";
        len = 0;
    }
    const char *end = NULL;
    cJSON *value = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    size_t pos = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len;
    if (value) {
        while (pos < len && buf[pos] != '\0' && strchr(" \t\r\n", buf[pos]))
            pos++;
        if (pos < len) {
            cJSON_Delete(value);
            value = NULL;
        }
    }
    if (!value) {
        json_err(buf, len, pos, name, ret_err, "invalid JSON");
        return SH_EPARSE;
    }
    size_t deep = json_too_deep_at(buf, len);
    if (deep < len) {
        cJSON_Delete(value);
        json_err(buf, len, deep, name, ret_err, "nesting deeper than %d levels", YJ_MAX_DEPTH);
        return SH_ETOOBIG;
    }
    cJSON *docs = cJSON_CreateArray();
    if (!docs || !cJSON_AddItemToArray(docs, value)) {
        cJSON_Delete(docs);
        cJSON_Delete(value);
        return SH_ENOMEM;
    }
    *ret_docs = docs;
    return 0;
}

int spec_file_parse(const char *path, cJSON **ret_docs, char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    char *data = NULL;
    size_t len = 0;
    int r = fs_read_file(path, YJ_MAX_INPUT, &data, &len);
    if (r == SH_EIO) {
        int e = errno;
        if (ret_err && asprintf(ret_err, "%s: %s", path, strerror(e)) < 0)
            *ret_err = NULL;
        errno = e;
        return r;
    }
    if (r == SH_ETOOBIG)
        return too_big(path, ret_err);
    if (r != 0)
        return r;
    size_t plen = strlen(path);
    bool json = plen >= 5 && strcasecmp(path + plen - 5, ".json") == 0;
    r = json ? json_parse_document(data, len, path, ret_docs, ret_err)
             : yaml_parse_documents(data, len, path, ret_docs, ret_err);
    free(data);
    return r;
}

/* ------------------------------------------------------------------ */
/* The emitter. */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > ncap)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char ch)
{
    sb_putn(b, &ch, 1);
}

static void sb_spaces(struct sbuf *b, size_t n)
{
    static const char sp[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        sb_putn(b, sp, k);
        n -= k;
    }
}

/* Decodes the UTF-8 sequence at s; returns its length, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret_cp)
{
    uint32_t cp;
    size_t n;
    if (s[0] < 0x80)
        n = 1, cp = s[0];
    else if ((s[0] & 0xE0) == 0xC0)
        n = 2, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *ret_cp = cp;
    return n;
}

/* May code point cp appear as itself in a plain scalar? */
static bool plain_cp_ok(uint32_t cp)
{
    return (cp >= 0x20 && cp <= 0x7E) ||
           (cp >= 0xA0 && cp <= 0xD7FF && cp != 0x2028 && cp != 0x2029) ||
           (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* Would s, written plain, read back as something other than this string? */
static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);
    double num;
    if (n == 0 || classify_plain(s, &num) != K_STR)
        return true;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) || s[0] == ' ' || s[n - 1] == ' ' ||
        strncmp(s, "...", 3) == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ':' && (s[i + 1] == ' ' || s[i + 1] == '\0'))
            return true;
        if (ch == '#' && s[i - 1] == ' ') /* i > 0: s[0] is not '#' */
            return true;
        if (ch >= 0x80) {
            uint32_t cp;
            size_t k = utf8_decode((const unsigned char *)s + i, &cp);
            if (k == 0 || !plain_cp_ok(cp))
                return true;
            i += k - 1;
        } else if (!plain_cp_ok(ch)) {
            return true;
        }
    }
    return false;
}

static void emit_quoted(struct sbuf *b, const char *s)
{
    char esc[16];
    sb_putc(b, '"');
    for (size_t i = 0; s[i];) {
        unsigned char ch = (unsigned char)s[i];
        const char *rep = NULL;
        switch (ch) {
        case '"':
            rep = "\\\"";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\t':
            rep = "\\t";
            break;
        case '\r':
            rep = "\\r";
            break;
        default:
            break;
        }
        if (rep) {
            sb_puts(b, rep);
            i++;
            continue;
        }
        if (ch < 0x80) {
            if (plain_cp_ok(ch)) {
                sb_putc(b, (char)ch);
            } else {
                snprintf(esc, sizeof esc, "\\x%02X", ch);
                sb_puts(b, esc);
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)s + i, &cp);
        if (k == 0) { /* not UTF-8: the byte becomes the code point of the same value */
            snprintf(esc, sizeof esc, "\\x%02X", ch);
            sb_puts(b, esc);
            i++;
            continue;
        }
        if (cp == 0x85)
            sb_puts(b, "\\N");
        else if (cp == 0x2028)
            sb_puts(b, "\\L");
        else if (cp == 0x2029)
            sb_puts(b, "\\P");
        else if (!plain_cp_ok(cp)) {
            snprintf(esc, sizeof esc, "\\u%04X", (unsigned)cp);
            sb_puts(b, esc);
        } else {
            sb_putn(b, s + i, k);
        }
        i += k;
    }
    sb_putc(b, '"');
}

static void emit_string(struct sbuf *b, const char *s)
{
    if (needs_quotes(s))
        emit_quoted(b, s);
    else
        sb_puts(b, s);
}

static void emit_number(struct sbuf *b, double d)
{
    char num[64];
    if (isnan(d)) {
        sb_puts(b, ".nan");
        return;
    }
    if (isinf(d)) {
        sb_puts(b, d > 0 ? ".inf" : "-.inf");
        return;
    }
    if (d == floor(d) && fabs(d) < 1e19) {
        snprintf(num, sizeof num, "%.0f", d);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
    }
    sb_puts(b, num);
}

static bool is_block(const cJSON *v)
{
    return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child;
}

/* A value that fits on the current line: a scalar or an empty collection. */
static void emit_inline(struct sbuf *b, const cJSON *v)
{
    if (cJSON_IsObject(v))
        sb_puts(b, "{}");
    else if (cJSON_IsArray(v))
        sb_puts(b, "[]");
    else if (cJSON_IsString(v) || cJSON_IsRaw(v))
        emit_string(b, v->valuestring ? v->valuestring : "");
    else if (cJSON_IsNumber(v))
        emit_number(b, v->valuedouble);
    else if (cJSON_IsTrue(v))
        sb_puts(b, "true");
    else if (cJSON_IsFalse(v))
        sb_puts(b, "false");
    else
        sb_puts(b, "null");
}

/* Writes "key:" — or "? key\n<indent>:" when the key is too long for an
 * implicit key. */
static void emit_key(struct sbuf *b, const char *key, size_t indent)
{
    struct sbuf k = {0};
    emit_string(&k, key);
    if (k.oom) {
        b->oom = true;
        return;
    }
    if (k.len > YJ_SIMPLE_KEY_MAX) {
        sb_puts(b, "? ");
        sb_putn(b, k.p, k.len);
        sb_putc(b, '\n');
        sb_spaces(b, indent);
    } else {
        sb_putn(b, k.p, k.len);
    }
    sb_putc(b, ':');
    free(k.p);
}

/* Writes the entries of a non-empty collection at column `indent`; the first
 * line's indentation is already written when first_inline (after "- "). */
static void emit_block(struct sbuf *b, const cJSON *v, size_t indent, bool first_inline)
{
    bool array = cJSON_IsArray(v);
    for (const cJSON *it = v->child; it; it = it->next) {
        if (it != v->child || !first_inline)
            sb_spaces(b, indent);
        if (array)
            sb_puts(b, "- ");
        else
            emit_key(b, it->string ? it->string : "", indent);
        if (is_block(it)) {
            if (array) {
                emit_block(b, it, indent + 2, true);
            } else {
                sb_putc(b, '\n');
                emit_block(b, it, indent + 2, false);
            }
        } else {
            if (!array)
                sb_putc(b, ' ');
            emit_inline(b, it);
            sb_putc(b, '\n');
        }
    }
}

char *yaml_emit(const cJSON *value)
{
    struct sbuf b = {0};
    if (value && is_block(value)) {
        emit_block(&b, value, 0, false);
    } else {
        if (value)
            emit_inline(&b, value);
        else
            sb_puts(&b, "null");
        sb_putc(&b, '\n');
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

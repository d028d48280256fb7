/* bot/_sentences.c: sentences.raw_spans, compiled.
 *
 * The same walk as bot/sentences.py (syntok's segmenter states replayed on a lazily filled token buffer),
 * line for line, so that the two can be read side by side: sentences.py stays the reference, and the tests
 * check that both give the same spans (and syntok's) on every text they try. What changes is only the cost:
 * scanning characters and moving between tokens in C rather than in Python. Decisions look at token values
 * exactly as the Python code does (the same frozensets, the same str methods); a chunk whose alphanumeric
 * core is not a plain run (a case change inside it, an apostrophe, a bracket ...) is tokenized by the Python
 * `_chunk_tokens`, which holds syntok's Unicode rules.
 *
 * Built when a C compiler is at hand (setuptools' optional extension); without it, sentences.py runs alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* --- what sentences.py hands over once (setup) --------------------------------------------------------- */

static PyObject *TERMINALS, *OPENING, *CLOSING, *CLOSING_QUOTES, *INNER, *SPECIAL, *STARTERS, *ABBREVIATIONS,
    *NUMBER_SIGNS, *MONTHS, *ROMAN, *VOWELS, *CHUNK_TOKENS;
static PyObject *S_ISALNUM, *S_ISTITLE, *S_ISNUMERIC, *S_ISALPHA, *S_ISUPPER;
static Py_UCS4 special_chars[64];
static int n_special;
static char special_ascii[128];
static int ready;

/* --- tokens ---------------------------------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t s, e;
    PyObject *v; /* owned */
    int g;       /* glued: no space before it */
} Tok;

typedef struct {
    Tok *t;
    Py_ssize_t n, cap;
} Vec;

static int vec_push(Vec *b, Py_ssize_t s, Py_ssize_t e, PyObject *v, int g) /* steals v */
{
    if (v == NULL)
        return -1;
    if (b->n == b->cap) {
        Py_ssize_t cap = b->cap ? 2 * b->cap : 16;
        Tok *t = PyMem_Realloc(b->t, cap * sizeof(Tok));
        if (t == NULL) {
            Py_DECREF(v);
            PyErr_NoMemory();
            return -1;
        }
        b->t = t;
        b->cap = cap;
    }
    b->t[b->n].s = s;
    b->t[b->n].e = e;
    b->t[b->n].v = v;
    b->t[b->n].g = g;
    b->n++;
    return 0;
}

static void vec_clear(Vec *b)
{
    for (Py_ssize_t i = 0; i < b->n; i++)
        Py_DECREF(b->t[i].v);
    b->n = 0;
}

static void vec_free(Vec *b)
{
    vec_clear(b);
    PyMem_Free(b->t);
    b->t = NULL;
    b->cap = 0;
}

/* One paragraph of the text: _Paragraph in sentences.py. */
typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Py_ssize_t length; /* of the whole text */
    Py_ssize_t end;
    Py_ssize_t loaded;
    Vec buf;
    int err;
} Para;

#define CH(p, i) PyUnicode_READ((p)->kind, (p)->data, (i))
#define V(p, i) ((p)->buf.t[(i)].v)

static inline int is_token_space(Py_UCS4 c)
{
    if (c < 128)
        return c == ' ' || (c >= 9 && c <= 13);
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200b) || c == 0x2028 ||
           c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static inline int is_white_space(Py_UCS4 c) /* regex's \s, without syntok's extra ZWSP */
{
    return c != 0x200b && is_token_space(c);
}

static inline int is_special_char(Py_UCS4 c)
{
    if (c < 128)
        return special_ascii[c];
    for (int i = 0; i < n_special; i++)
        if (special_chars[i] == c)
            return 1;
    return 0;
}

static inline int ascii_alnum(Py_UCS4 c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int ascii_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }
static inline int ascii_lower(Py_UCS4 c) { return c >= 'a' && c <= 'z'; }
static inline int ascii_upper(Py_UCS4 c) { return c >= 'A' && c <= 'Z'; }

static int push_sub(Para *p, Vec *out, Py_ssize_t s, Py_ssize_t e, int g)
{
    return vec_push(out, s, e, PyUnicode_Substring(p->text, s, e), g);
}

/* PLAIN_CORE.fullmatch: ASCII letter-digit runs joined by single symbols that never separate. */
static int plain_core(Para *p, Py_ssize_t i, Py_ssize_t end)
{
    if (i >= end || !ascii_alnum(CH(p, i)))
        return 0;
    for (;;) {
        while (i < end && ascii_alnum(CH(p, i)))
            i++;
        if (i == end)
            return 1;
        Py_UCS4 c = CH(p, i);
        switch (c) {
        case '.': case ':': case '/': case '%': case '$': case '&': case '@': case '+': case '=': case '#': case '*':
            break;
        case ',': case '-':
            if (ascii_digit(CH(p, i - 1)) && i + 1 < end && ascii_digit(CH(p, i + 1)))
                break;
            return 0;
        default:
            return 0;
        }
        i++;
        if (i >= end || !ascii_alnum(CH(p, i)))
            return 0;
    }
}

/* CASE_CHANGE.search: a lower-case letter, maybe a '.', an upper-case one. */
static int case_change(Para *p, Py_ssize_t i, Py_ssize_t end)
{
    for (; i < end; i++) {
        if (!ascii_lower(CH(p, i)))
            continue;
        if (i + 1 < end && ascii_upper(CH(p, i + 1)))
            return 1;
        if (i + 2 < end && CH(p, i + 1) == '.' && ascii_upper(CH(p, i + 2)))
            return 1;
    }
    return 0;
}

static int tokenize_in_python(Para *p, Py_ssize_t cs, Py_ssize_t ce, Vec *out)
{
    PyObject *chunk = PyUnicode_Substring(p->text, cs, ce);
    if (chunk == NULL)
        return -1;
    PyObject *tokens = PyObject_CallOneArg(CHUNK_TOKENS, chunk);
    Py_DECREF(chunk);
    if (tokens == NULL)
        return -1;
    if (!PyList_Check(tokens) || PyList_GET_SIZE(tokens) == 0) {
        Py_DECREF(tokens);
        PyErr_SetString(PyExc_TypeError, "_chunk_tokens must return a non-empty list");
        return -1;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(tokens); k++) {
        Py_ssize_t a, b;
        PyObject *v, *g;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(tokens, k), "nnOO", &a, &b, &v, &g)) {
            Py_DECREF(tokens);
            return -1;
        }
        if (!PyUnicode_Check(v) || a < 0 || a > b || b > ce - cs) {
            Py_DECREF(tokens);
            PyErr_SetString(PyExc_TypeError, "_chunk_tokens must return (start, end, str, glued) within the chunk");
            return -1;
        }
        int glued = PyObject_IsTrue(g);
        Py_INCREF(v);
        if (glued < 0 || vec_push(out, cs + a, cs + b, v, glued) < 0) {
            if (glued < 0)
                Py_DECREF(v);
            Py_DECREF(tokens);
            return -1;
        }
    }
    Py_DECREF(tokens);
    return 0;
}

/* _chunk_tokens(text[cs:ce]) with offsets into the text, appended to `out`. */
static int tokenize(Para *p, Py_ssize_t cs, Py_ssize_t ce, Vec *out)
{
    Py_ssize_t n = ce - cs, s = 0, e, i;
    while (s < n && !Py_UNICODE_ISALNUM(CH(p, cs + s)))
        s++;
    if (s == n)
        return push_sub(p, out, cs, ce, 0);
    e = n;
    while (!Py_UNICODE_ISALNUM(CH(p, cs + e - 1)))
        e--;
    if (!(e - s == 1 || (plain_core(p, cs + s, cs + e) && !case_change(p, cs + s, cs + e))))
        return tokenize_in_python(p, cs, ce, out);
    for (i = 0; i < s; i++)
        if (push_sub(p, out, cs + i, cs + i + 1, i > 0) < 0)
            return -1;
    if (push_sub(p, out, cs + s, cs + e, s > 0) < 0)
        return -1;
    if (e + 3 <= n && CH(p, cs + e) == '.' && CH(p, cs + e + 1) == '.' && CH(p, cs + e + 2) == '.') {
        if (push_sub(p, out, cs + e, cs + e + 3, 1) < 0)
            return -1;
        e += 3;
    }
    for (i = e; i < n; i++)
        if (push_sub(p, out, cs + i, cs + i + 1, 1) < 0)
            return -1;
    return 0;
}

/* --- tests on token values, as the Python code makes them (an error ends the walk: see p->err) ---------- */

static int in(Para *p, PyObject *set, PyObject *v)
{
    if (p->err)
        return 0;
    int r = PySet_Contains(set, v);
    if (r < 0) {
        p->err = 1;
        return 0;
    }
    return r;
}

static int is(Para *p, PyObject *v, PyObject *method)
{
    if (p->err)
        return 0;
    PyObject *r = PyObject_CallMethodNoArgs(v, method);
    if (r == NULL) {
        p->err = 1;
        return 0;
    }
    int t = r == Py_True;
    Py_DECREF(r);
    return t;
}

static int first_is_lower(PyObject *v) /* v[:1].islower() */
{
    return PyUnicode_GET_LENGTH(v) > 0 && Py_UNICODE_ISLOWER(PyUnicode_READ_CHAR(v, 0));
}

static int equals(PyObject *v, const char *s) { return PyUnicode_CompareWithASCIIString(v, s) == 0; }

static int single_letter_or_roman(Para *p, PyObject *v)
{
    return PyUnicode_GET_LENGTH(v) == 1 || in(p, ROMAN, v);
}

/* --- the walk: _Paragraph's methods --------------------------------------------------------------------- */

/* CHUNK.search(text, loaded, end): the next run without white space, as [*a, *b); 0 at the paragraph's end. */
static int next_chunk(Para *p, Py_ssize_t *a, Py_ssize_t *b)
{
    Py_ssize_t s = p->loaded, e;
    while (s < p->end && is_token_space(CH(p, s)))
        s++;
    if (s >= p->end)
        return 0;
    e = s;
    while (e < p->end && !is_token_space(CH(p, e)))
        e++;
    *a = s;
    *b = e;
    return 1;
}

static int fill(Para *p, Py_ssize_t i)
{
    if (p->err)
        return 0;
    while (p->buf.n <= i) {
        Py_ssize_t a, b;
        if (!next_chunk(p, &a, &b))
            return 0;
        if (tokenize(p, a, b, &p->buf) < 0) {
            p->err = 1;
            return 0;
        }
        p->loaded = b;
    }
    return 1;
}

#define HAS(p, i) ((i) < (p)->buf.n || fill((p), (i)))

/* The last token of the chunk that ends before `pos`, if that chunk starts after `limit`: 1 and *out set
 * (a new reference), 0 if none, -1 on error. */
static int last_token_before(Para *p, Py_ssize_t pos, Py_ssize_t limit, Tok *out)
{
    Py_ssize_t b = pos, a;
    while (b > limit && is_token_space(CH(p, b - 1)))
        b--;
    if (b <= limit)
        return 0;
    a = b;
    while (a > limit && !is_token_space(CH(p, a - 1)))
        a--;
    Vec tmp = {0};
    if (tokenize(p, a, b, &tmp) < 0) {
        vec_free(&tmp);
        return -1;
    }
    *out = tmp.t[tmp.n - 1];
    Py_INCREF(out->v);
    vec_free(&tmp);
    return 1;
}

/* buf := `head` (if given, stolen) followed by `rest` (emptied). */
static void replace_buf(Para *p, Tok *head, Vec *rest)
{
    vec_clear(&p->buf);
    if (head != NULL && vec_push(&p->buf, head->s, head->e, head->v, head->g) < 0) {
        p->err = 1;
        return;
    }
    for (Py_ssize_t k = 0; k < rest->n; k++) {
        if (vec_push(&p->buf, rest->t[k].s, rest->t[k].e, rest->t[k].v, rest->t[k].g) < 0) {
            for (Py_ssize_t j = k + 1; j < rest->n; j++)
                Py_DECREF(rest->t[j].v);
            rest->n = 0;
            p->err = 1;
            return;
        }
    }
    rest->n = 0;
}

static Py_ssize_t jump(Para *p)
{
    if (p->err)
        return -1;
    Py_ssize_t end = p->end, searched = p->loaded, at = searched;
    Tok last = p->buf.t[p->buf.n - 1];
    Py_INCREF(last.v);
    for (;;) {
        Py_ssize_t c = at;
        while (c < end && !is_special_char(CH(p, c)))
            c++;
        if (c >= end)
            break;
        at = c + 1;
        if (CH(p, c) == '.' && at < end) {
            Py_UCS4 a = CH(p, c > 0 ? c - 1 : p->length - 1), b = CH(p, at);
            if (Py_UNICODE_ISALNUM(a) && Py_UNICODE_ISALNUM(b) && !(Py_UNICODE_ISLOWER(a) && Py_UNICODE_ISUPPER(b)))
                continue; /* "3.5", "acme.com", "U.S": a full stop inside a word is no token of its own */
        }
        Py_ssize_t cs = c, ce = c;
        while (cs > searched && !is_token_space(CH(p, cs - 1)))
            cs--;
        while (ce < end && !is_token_space(CH(p, ce)))
            ce++;
        Vec tokens = {0};
        if (tokenize(p, cs, ce, &tokens) < 0) {
            vec_free(&tokens);
            Py_DECREF(last.v);
            p->err = 1;
            return -1;
        }
        Py_ssize_t k;
        for (k = 0; k < tokens.n; k++)
            if (in(p, SPECIAL, tokens.t[k].v))
                break;
        if (k == tokens.n) {
            Py_DECREF(last.v);
            last = tokens.t[tokens.n - 1];
            Py_INCREF(last.v);
            vec_free(&tokens);
            searched = ce;
            at = ce;
            if (p->err)
                return -1;
            continue;
        }
        if (k == 0) {
            Tok before;
            int got = last_token_before(p, cs, searched, &before);
            if (got < 0) {
                vec_free(&tokens);
                Py_DECREF(last.v);
                p->err = 1;
                return -1;
            }
            if (got) {
                Py_DECREF(last.v);
                last = before;
            }
            replace_buf(p, &last, &tokens);
            k = 1;
        } else {
            Py_DECREF(last.v);
            replace_buf(p, NULL, &tokens);
        }
        vec_free(&tokens);
        p->loaded = ce;
        return p->err ? -1 : k;
    }
    Tok before;
    int got = last_token_before(p, end, searched, &before);
    Vec none = {0};
    if (got < 0) {
        Py_DECREF(last.v);
        p->err = 1;
        return -1;
    }
    if (got) {
        Py_DECREF(last.v);
        replace_buf(p, &before, &none);
    } else {
        replace_buf(p, &last, &none);
    }
    p->loaded = end;
    return -1;
}

/* (offset of the matching closing bracket from i, or 0); *has_sentence: the bracket holds a sentence. */
static Py_ssize_t find_end_of_bracket(Para *p, Py_ssize_t i, int *has_sentence)
{
    int depth = 1, first_is_title = -1, last_is_terminal = 0;
    Py_ssize_t q = 1;
    while (q < 50 && fill(p, i + q)) {
        PyObject *v = V(p, i + q);
        if (first_is_title < 0) {
            if (is(p, v, S_ISALNUM))
                first_is_title = is(p, v, S_ISTITLE);
        } else if (first_is_title && is(p, v, S_ISALNUM)) {
            last_is_terminal = fill(p, i + q + 1) && in(p, TERMINALS, V(p, i + q + 1));
        }
        if (in(p, OPENING, v)) {
            depth++;
        } else if (in(p, CLOSING, v)) {
            depth--;
            if (depth == 0)
                break;
        }
        q++;
    }
    *has_sentence = first_is_title == 1 && last_is_terminal;
    return depth == 0 ? q : 0;
}

static Py_ssize_t skip_bracket(Para *p, Py_ssize_t i)
{
    int has_sentence;
    Py_ssize_t closing = find_end_of_bracket(p, i, &has_sentence);
    if (closing > 0 && (p->buf.t[i + closing].e - p->buf.t[i].s < 70 || !has_sentence))
        return i + closing + 1;
    return i;
}

static Py_ssize_t past_terminals(Para *p, Py_ssize_t i, int *has, PyObject **after)
{
    while (*has && (in(p, TERMINALS, V(p, i)) || in(p, CLOSING, V(p, i)))) {
        i++;
        *has = HAS(p, i);
        if (!*has)
            break;
        if (*after == NULL)
            *after = V(p, i - 1);
    }
    return i;
}

static int splits(Para *p, Py_ssize_t i, int first, PyObject *before, PyObject *after, PyObject *nxt, int glued)
{
    if (first_is_lower(nxt) || in(p, INNER, nxt))
        return 0;
    if (in(p, STARTERS, nxt) && !(first && single_letter_or_roman(p, before)))
        return 1;
    if (in(p, ABBREVIATIONS, before) && !in(p, CLOSING, after))
        return 0;
    if (in(p, NUMBER_SIGNS, before) && is(p, nxt, S_ISALNUM)) {
        for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(nxt); k++)
            if (Py_UNICODE_ISNUMERIC(PyUnicode_READ_CHAR(nxt, k)))
                return 0;
    }
    if (glued && (is(p, nxt, S_ISNUMERIC) || !is(p, after, S_ISTITLE) || !is(p, after, S_ISALPHA) ||
                  PyUnicode_GET_LENGTH(after) == 1))
        return 0;
    if (is(p, nxt, S_ISNUMERIC) && PyUnicode_GET_LENGTH(nxt) > 2)
        return 0;
    if (is(p, before, S_ISNUMERIC) && in(p, MONTHS, nxt))
        return 0;
    if (in(p, MONTHS, before) && is(p, nxt, S_ISNUMERIC))
        return 0;
    if (PyUnicode_FindChar(before, '.', 0, PyUnicode_GET_LENGTH(before), 1) >= 0 && !equals(after, "."))
        return 0;
    if ((first || is(p, before, S_ISUPPER)) && single_letter_or_roman(p, before))
        return 0;
    if (PyUnicode_GET_LENGTH(before) == 1 && is(p, before, S_ISALPHA) && !in(p, VOWELS, before))
        return 0;
    if (in(p, OPENING, after)) { /* buf[i] is that bracket */
        int has_sentence;
        Py_ssize_t closing = find_end_of_bracket(p, i, &has_sentence);
        PyObject *after_brackets = NULL;
        if (closing && !has_sentence && fill(p, i + closing + 1))
            after_brackets = V(p, i + closing + 1);
        if (after_brackets != NULL && in(p, INNER, after_brackets))
            return 0;
        if (fill(p, i + 1) && is(p, V(p, i + 1), S_ISTITLE))
            return 1;
        return !(after_brackets != NULL && first_is_lower(after_brackets));
    }
    return 1;
}

/* State._move_and_maybe_extract_terminal with buf[i] the terminal (or bracket): the new queue head, and in
 * *split whether a sentence ends before it. */
static Py_ssize_t decide(Para *p, Py_ssize_t i, int first, int *split)
{
    PyObject *before = V(p, i > 0 ? i - 1 : p->buf.n - 1), *after = NULL;
    if (!in(p, OPENING, V(p, i)))
        i++;
    int has = HAS(p, i);
    if (has && in(p, OPENING, V(p, i)) && !in(p, TERMINALS, V(p, i - 1))) {
        i = skip_bracket(p, i);
        has = HAS(p, i);
    } else {
        i = past_terminals(p, i, &has, &after);
        if (has && in(p, CLOSING_QUOTES, V(p, i)) && p->buf.t[i].g) {
            i++;
            has = HAS(p, i);
            if (has && after == NULL)
                after = V(p, i - 1);
        }
        i = past_terminals(p, i, &has, &after);
        if (has && in(p, OPENING, V(p, i)))
            after = V(p, i);
    }
    if (!has) {
        *split = 1; /* end of paragraph: splitting or not gives the same spans */
        return i;
    }
    PyObject *nxt = V(p, i);
    if (after == NULL)
        after = nxt;
    *split = splits(p, i, first, before, after, nxt, p->buf.t[i].g);
    return i;
}

static int append_span(PyObject *out, Py_ssize_t s, Py_ssize_t e)
{
    PyObject *span = Py_BuildValue("(nn)", s, e);
    if (span == NULL)
        return -1;
    int r = PyList_Append(out, span);
    Py_DECREF(span);
    return r;
}

#define EMIT(s, e)                                                                                         \
    do {                                                                                                   \
        if (append_span(out, (s), (e)) < 0) {                                                              \
            p->err = 1;                                                                                    \
            return;                                                                                        \
        }                                                                                                  \
    } while (0)

/* The paragraph's sentence spans, appended to `out` (syntok's segment(): Terminal yields a sentence). */
static void walk(Para *p, PyObject *out)
{
    if (!fill(p, 0))
        return;
    Py_ssize_t pos = 0, start = p->buf.t[0].s, start_pos = 0;
    int first = 1, split;
    for (;;) {
        if (p->err)
            return;
        if (first) { /* FirstToken */
            if (in(p, OPENING, V(p, pos))) {
                Py_ssize_t j = skip_bracket(p, pos);
                if (j != pos) {
                    pos = j;
                    if (!HAS(p, pos))
                        break;
                    if (pos - start_pos > 3 && !first_is_lower(V(p, pos))) {
                        EMIT(start, p->buf.t[pos - 1].e);
                        start = p->buf.t[pos].s;
                        start_pos = pos;
                        continue;
                    }
                }
            }
            pos++;
            if (pos == p->buf.n) { /* the next token starts a chunk: look at that before tokenizing it */
                Py_ssize_t a, b;
                if (!next_chunk(p, &a, &b))
                    break;
                if (!is_special_char(CH(p, a))) {
                    /* an ordinary token follows, which InnerToken moves: go on from its chunk */
                    p->loaded = a;
                    pos--;
                    first = 0;
                    continue;
                }
                if (p->err || tokenize(p, a, b, &p->buf) < 0) {
                    p->err = 1;
                    return;
                }
                p->loaded = b;
            }
            if (in(p, TERMINALS, V(p, pos)) || equals(V(p, pos), "(")) {
                pos = decide(p, pos, 1, &split);
                if (p->err || !HAS(p, pos))
                    break;
                if (split) {
                    EMIT(start, p->buf.t[pos - 1].e);
                    start = p->buf.t[pos].s;
                    start_pos = pos;
                }
            } else {
                first = 0;
            }
        } else { /* InnerToken: move one token, then past all ordinary ones */
            pos++;
            for (;;) {
                if (pos >= p->buf.n) {
                    pos = jump(p);
                    if (p->err)
                        return;
                    if (pos < 0) {
                        EMIT(start, p->buf.t[0].e);
                        return;
                    }
                }
                if (in(p, OPENING, V(p, pos))) {
                    pos = skip_bracket(p, pos);
                    if (!HAS(p, pos))
                        break;
                }
                if (in(p, SPECIAL, V(p, pos)) || p->err)
                    break;
                pos++;
            }
            if (!HAS(p, pos))
                break;
            pos = decide(p, pos, 0, &split);
            if (p->err || !HAS(p, pos))
                break;
            if (split) {
                EMIT(start, p->buf.t[pos - 1].e);
                start = p->buf.t[pos].s;
                start_pos = pos;
                first = 1;
            }
        }
    }
    if (!p->err)
        EMIT(start, p->buf.t[pos > 0 ? pos - 1 : p->buf.n - 1].e);
}

/* _paragraph_spans: a paragraph without a terminal or an opening bracket is one sentence. */
static int paragraph_spans(PyObject *text, int kind, const void *data, Py_ssize_t length, Py_ssize_t start,
                           Py_ssize_t end, PyObject *out)
{
    Para para = {text, kind, data, length, end, start, {0}, 0};
    Para *p = &para;
    Py_ssize_t i;
    for (i = start; i < end; i++)
        if (is_special_char(CH(p, i)))
            break;
    if (i == end) {
        Py_ssize_t a = start;
        while (a < end && is_token_space(CH(p, a)))
            a++;
        if (a < end) {
            while (is_token_space(CH(p, end - 1)))
                end--;
            return append_span(out, a, end);
        }
        return 0;
    }
    walk(p, out);
    vec_free(&p->buf);
    if (p->err && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "sentence walk failed");
    return p->err ? -1 : 0;
}

static PyObject *raw_spans(PyObject *module, PyObject *text)
{
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "bot._sentences.setup() was not called");
        return NULL;
    }
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "raw_spans() takes a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0)
        return NULL;
#endif
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), start = 0, i = 0;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    /* PARAGRAPH_BREAK: "\n", then white space running on to a last "\n" (at least one) */
    while (i < n) {
        if (PyUnicode_READ(kind, data, i) != '\n') {
            i++;
            continue;
        }
        Py_ssize_t j = i + 1, last = -1;
        while (j < n && is_white_space(PyUnicode_READ(kind, data, j))) {
            if (PyUnicode_READ(kind, data, j) == '\n')
                last = j;
            j++;
        }
        if (last < 0) {
            i++;
            continue;
        }
        Py_ssize_t stop = i;
        if (stop > start && PyUnicode_READ(kind, data, stop - 1) == '\r')
            stop--;
        if (paragraph_spans(text, kind, data, n, start, stop, out) < 0) {
            Py_DECREF(out);
            return NULL;
        }
        start = i = last + 1;
    }
    if (paragraph_spans(text, kind, data, n, start, n, out) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *setup(PyObject *module, PyObject *args)
{
    PyObject *sets[12], *chunk_tokens;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!O!O!O!O!O!O:setup", &PyFrozenSet_Type, &sets[0], &PyFrozenSet_Type,
                          &sets[1], &PyFrozenSet_Type, &sets[2], &PyFrozenSet_Type, &sets[3], &PyFrozenSet_Type,
                          &sets[4], &PyFrozenSet_Type, &sets[5], &PyFrozenSet_Type, &sets[6], &PyFrozenSet_Type,
                          &sets[7], &PyFrozenSet_Type, &sets[8], &PyFrozenSet_Type, &sets[9], &PyFrozenSet_Type,
                          &sets[10], &PyFrozenSet_Type, &sets[11], &chunk_tokens))
        return NULL;
    PyObject **slots[12] = {&TERMINALS, &OPENING, &CLOSING, &CLOSING_QUOTES, &INNER, &SPECIAL,
                            &STARTERS, &ABBREVIATIONS, &NUMBER_SIGNS, &MONTHS, &ROMAN, &VOWELS};
    for (int k = 0; k < 12; k++) {
        Py_INCREF(sets[k]);
        Py_XSETREF(*slots[k], sets[k]);
    }
    Py_INCREF(chunk_tokens);
    Py_XSETREF(CHUNK_TOKENS, chunk_tokens);
    /* the characters of the special tokens (SPECIAL_CHAR in sentences.py) */
    memset(special_ascii, 0, sizeof special_ascii);
    n_special = 0;
    PyObject *iter = PyObject_GetIter(SPECIAL), *item;
    if (iter == NULL)
        return NULL;
    while ((item = PyIter_Next(iter)) != NULL) {
        for (Py_ssize_t k = 0; PyUnicode_Check(item) && k < PyUnicode_GET_LENGTH(item); k++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(item, k);
            if (c < 128) {
                special_ascii[c] = 1;
            } else if (n_special < 64) {
                special_chars[n_special++] = c;
            } else {
                Py_DECREF(item);
                Py_DECREF(iter);
                PyErr_SetString(PyExc_ValueError, "too many special characters");
                return NULL;
            }
        }
        Py_DECREF(item);
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return NULL;
    ready = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"raw_spans", raw_spans, METH_O, "(start, end) of each sentence syntok.segmenter.analyze(text) finds."},
    {"setup", setup, METH_VARARGS, "The sets and the chunk tokenizer of bot.sentences (called once by it)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sentences", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sentences(void)
{
    S_ISALNUM = PyUnicode_InternFromString("isalnum");
    S_ISTITLE = PyUnicode_InternFromString("istitle");
    S_ISNUMERIC = PyUnicode_InternFromString("isnumeric");
    S_ISALPHA = PyUnicode_InternFromString("isalpha");
    S_ISUPPER = PyUnicode_InternFromString("isupper");
    if (!S_ISALNUM || !S_ISTITLE || !S_ISNUMERIC || !S_ISALPHA || !S_ISUPPER)
        return NULL;
    return PyModule_Create(&module);
}

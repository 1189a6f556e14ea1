/* nbexp._native: compiled versions of nbexp's hottest loops, each with a pure-Python twin
 * that gives the same results, used whenever this module is missing or NBEXP_NO_NATIVE is
 * set. tests/test_native.py compares them.
 *
 *   read_block(block, first, steps, final, equals, colons, json=False)
 *       the numbers of lines that all have one metrics line's shape (`LineTemplate`, or with
 *       json a JSON object's, `JsonTemplate`; twins `LineTemplate.read_block_in_python` in
 *       _core/metric_lines.py, `JsonTemplate.read_block_in_python` in _core/json_template.py):
 *       their count and a column of floats per value, or None when a line has another shape,
 *       the block's count of '=' or ':' is not that many times the line's (equals < 0: not
 *       checked), or a number does not parse.
 *   read_frames(data, pos, end, prefix, total, literals)
 *       the frames of a tqdm bar whose postfix changes at every frame (`FrameTemplate` in
 *       _core/bar_frames.py; twin `FrameTemplate.read_in_python`): counts, a column per value
 *       and which frames' values changed, or None when a frame has another shape.
 *   plain_lines(data, line_cap)
 *       the lines `terminal.render` shows for plain ASCII text (twin
 *       `terminal._plain_lines_in_python`), or None when the text is not plain.
 *
 * Pure functions of their arguments: no state, no I/O, the GIL held throughout (linear
 * passes over their input).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* -------------------------------------------------------------------------- read_block */

/* A metric name's byte, as the regex class [\w./\-] over bytes: what may not come just before
 * the first literal of a template (`_NOT_AFTER_NAME`). */
static int
is_name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '/' || c == '-';
}

/* \s over bytes, as `re` has it: space, \t, \n, \r, \v, \f. */
static int
is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* One value of a template: a number (`[^\s<stop>]+`, stop < 0 for none) or a step's digits
 * (`\d+`), then the literal text that must follow it. */
typedef struct {
    int digits;
    int stop;
    const char *literal;
    Py_ssize_t literal_size;
    int wanted;
} Step;

/* Where the values of the template matched in line[start:end), written to spans; 0 when the
 * template does not match there (the regex would find no match in this line). */
static int
match_from(const char *line, Py_ssize_t at, Py_ssize_t end, const Step *steps,
           Py_ssize_t count, const char *final, Py_ssize_t final_size, Py_ssize_t *spans)
{
    Py_ssize_t pos = at;
    for (Py_ssize_t i = 0; i < count; i++) {
        const Step *step = &steps[i];
        Py_ssize_t start = pos;
        if (step->digits) {
            while (pos < end && line[pos] >= '0' && line[pos] <= '9')
                pos++;
        } else {
            while (pos < end && !is_space((unsigned char)line[pos]) &&
                   (unsigned char)line[pos] != step->stop)
                pos++;
        }
        if (pos == start)
            return 0;
        spans[2 * i] = start;
        spans[2 * i + 1] = pos;
        if (i + 1 < count) {
            if (end - pos < step->literal_size ||
                memcmp(line + pos, step->literal, step->literal_size) != 0)
                return 0;
            pos += step->literal_size;
        }
    }
    /* The text after the last value, then the line's end (`$`). */
    return end - pos == final_size && memcmp(line + pos, final, final_size) == 0;
}

/* Powers of ten that a double holds exactly. */
static const double exact_powers[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#if defined(__x86_64__) && LDBL_MANT_DIG == 64
/* x87's extended doubles: 64-bit mantissas, so up to 19 digits and 10^27 are exact. */
#define LONG_MANTISSAS 1
static const long double exact_long_powers[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L,
};
#endif

/* The usual decimals ("0.2314", "1200", "3.0e-04", and the 17 digits of repr()) without the
 * general algorithm, rounded exactly as float() rounds them; 0 when the text is not one
 * (then the general path decides).
 * - Up to 15 significant digits and 10^-22..10^22: the digits and the power are exact
 *   doubles, so one multiplication or division rounds correctly (Clinger's fast path).
 * - Up to 19 digits and 10^-27..10^27, on x87: the same in 64-bit mantissas, rounded once
 *   there, then to a double. The second rounding is right unless the first result sits
 *   exactly halfway between two doubles (its low 11 bits 0x400): the true value is within
 *   half a 64-bit unit of it, so on the same side of every halfway point it is not on. Those
 *   few go to the general path. Results stay between 1e-27 and 1e46: normal doubles. */
static int
short_decimal(const char *text, Py_ssize_t size, double *out)
{
    Py_ssize_t i = 0;
    int negative = 0, digits = 0, seen = 0, exponent = 0;
    uint64_t mantissa = 0;
    if (i < size && (text[i] == '-' || text[i] == '+'))
        negative = text[i++] == '-';
    for (int fraction = 0; i < size; i++) {
        char c = text[i];
        if (c == '.' && !fraction) {
            fraction = 1;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        seen = 1;
        if (mantissa || c != '0') {
            if (++digits > 19)
                return 0;
            mantissa = mantissa * 10 + (uint64_t)(c - '0');
        }
        exponent -= fraction;
    }
    if (!seen)
        return 0;
    if (i < size && (text[i] == 'e' || text[i] == 'E')) {
        int sign = 1, value = 0, any = 0;
        i++;
        if (i < size && (text[i] == '-' || text[i] == '+'))
            sign = text[i++] == '-' ? -1 : 1;
        for (; i < size && text[i] >= '0' && text[i] <= '9' && value < 1000; i++, any = 1)
            value = value * 10 + (text[i] - '0');
        if (!any)
            return 0;
        exponent += sign * value;
    }
    if (i != size)
        return 0;
    double value;
    if (digits <= 15 && exponent <= 22 && exponent >= -22) {
        value = (double)mantissa;
        value = exponent >= 0 ? value * exact_powers[exponent] : value / exact_powers[-exponent];
    }
#ifdef LONG_MANTISSAS
    else if (exponent <= 27 && exponent >= -27) {
        long double wide = (long double)mantissa;
        wide = exponent >= 0 ? wide * exact_long_powers[exponent]
                             : wide / exact_long_powers[-exponent];
        uint64_t bits;
        memcpy(&bits, &wide, sizeof(bits)); /* the 64-bit mantissa, explicit leading 1 */
        if ((bits & 0x7FF) == 0x400)
            return 0;
        value = (double)wide;
    }
#endif
    else
        return 0;
    *out = negative ? -value : value;
    return 1;
}

/* A number as float() reads it from bytes. Plain decimal numbers (the usual case) are
 * converted here; anything else ("nan", "1_000", "Infinity") by float() itself, so that both
 * agree on every input. NULL with ValueError set when it is not a number. */
static PyObject *
to_float(const char *text, Py_ssize_t size)
{
    double quick;
    if (short_decimal(text, size, &quick))
        return PyFloat_FromDouble(quick);
    char buffer[64];
    int plain = size < (Py_ssize_t)sizeof(buffer);
    for (Py_ssize_t i = 0; plain && i < size; i++) {
        char c = text[i];
        plain = (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' ||
                c == '-';
    }
    if (plain) {
        memcpy(buffer, text, size);
        buffer[size] = '\0';
        double value = PyOS_string_to_double(buffer, NULL, NULL);
        if (value == -1.0 && PyErr_Occurred())
            return NULL;
        return PyFloat_FromDouble(value);
    }
    PyObject *raw = PyBytes_FromStringAndSize(text, size);
    if (raw == NULL)
        return NULL;
    PyObject *value = PyFloat_FromString(raw);
    Py_DECREF(raw);
    return value;
}

/* A JSON number as json.loads and then float() read it: the grammar checked exactly (and NaN,
 * Infinity, -Infinity, which json.loads takes), an integer's "-0" as 0.0 (an int has no sign
 * of zero). NULL with ValueError set when it is no JSON number, or an integer too big for a
 * float: float() raises OverflowError there and the Python reading takes another way. */
static PyObject *
json_float(const char *text, Py_ssize_t size)
{
    if (size == 3 && memcmp(text, "NaN", 3) == 0)
        return PyFloat_FromDouble(Py_NAN);
    if (size == 8 && memcmp(text, "Infinity", 8) == 0)
        return PyFloat_FromDouble(Py_HUGE_VAL);
    if (size == 9 && memcmp(text, "-Infinity", 9) == 0)
        return PyFloat_FromDouble(-Py_HUGE_VAL);
    Py_ssize_t i = text[0] == '-';
    Py_ssize_t int_start = i;
    if (i < size && text[i] == '0')
        i++;
    else if (i < size && text[i] >= '1' && text[i] <= '9')
        while (i < size && text[i] >= '0' && text[i] <= '9')
            i++;
    else
        goto invalid;
    int integer = 1;
    if (i < size && text[i] == '.') {
        Py_ssize_t from = ++i;
        while (i < size && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == from)
            goto invalid;
        integer = 0;
    }
    if (i < size && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < size && (text[i] == '+' || text[i] == '-'))
            i++;
        Py_ssize_t from = i;
        while (i < size && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == from)
            goto invalid;
        integer = 0;
    }
    if (i != size)
        goto invalid;
    if (integer && size - int_start == 1 && text[int_start] == '0')
        return PyFloat_FromDouble(0.0);
    PyObject *value = to_float(text, size);
    if (value != NULL && integer && Py_IS_INFINITY(PyFloat_AS_DOUBLE(value))) {
        Py_DECREF(value);
        goto invalid;
    }
    return value;
invalid:
    PyErr_SetString(PyExc_ValueError, "not a JSON number");
    return NULL;
}

/* The start of the first occurrence of `needle` in haystack[from:end) that no name byte
 * precedes, or -1. */
static Py_ssize_t
find_first(const char *haystack, Py_ssize_t from, Py_ssize_t end, const char *needle,
           Py_ssize_t size)
{
    while (end - from >= size) {
        const char *hit = memchr(haystack + from, needle[0], end - from - size + 1);
        if (hit == NULL)
            return -1;
        Py_ssize_t at = hit - haystack;
        if (memcmp(hit, needle, size) == 0 &&
            (at == 0 || !is_name_byte((unsigned char)haystack[at - 1])))
            return at;
        from = at + 1;
    }
    return -1;
}

/* How many '=', ':' and newlines `data` holds: one pass that the compiler vectorises. */
static void
count_marks(const char *data, Py_ssize_t size, Py_ssize_t *equals, Py_ssize_t *colons,
            Py_ssize_t *newlines)
{
    Py_ssize_t e = 0, c = 0, n = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        e += data[i] == '=';
        c += data[i] == ':';
        n += data[i] == '\n';
    }
    *equals = e;
    *colons = c;
    *newlines = n;
}

static int
parse_steps(PyObject *spec, Step **out, Py_ssize_t *count)
{
    /* spec: a tuple of (digits: bool, stop: int, literal: bytes, wanted: bool) */
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "steps must be a tuple");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(spec);
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "a template has at least one value");
        return -1;
    }
    Step *steps = PyMem_Calloc(n, sizeof(Step));
    if (steps == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int digits, wanted, stop;
        const char *literal;
        Py_ssize_t literal_size;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(spec, i), "piy#p", &digits, &stop, &literal,
                              &literal_size, &wanted)) {
            PyMem_Free(steps);
            return -1;
        }
        steps[i] = (Step){digits, stop, literal, literal_size, wanted};
    }
    *out = steps;
    *count = n;
    return 0;
}

static PyObject *
read_block(PyObject *module, PyObject *args)
{
    Py_buffer block;
    const char *first, *final;
    Py_ssize_t first_size, final_size, equals, colons;
    PyObject *spec;
    int json = 0;
    if (!PyArg_ParseTuple(args, "y*y#O!y#nn|p", &block, &first, &first_size, &PyTuple_Type,
                          &spec, &final, &final_size, &equals, &colons, &json))
        return NULL;
    const char *data = block.buf;
    Py_ssize_t size = block.len;
    Step *steps = NULL;
    Py_ssize_t count = 0, *spans = NULL;
    PyObject *columns = NULL, *result = NULL;
    if (first_size == 0) {
        PyErr_SetString(PyExc_ValueError, "the first literal is empty");
        goto done;
    }
    if (parse_steps(spec, &steps, &count) < 0)
        goto done;
    Py_ssize_t found_equals = -1, found_colons = -1, lines = 1;
    if (equals < 0) { /* no count to check: only the lines */
        for (const char *p = memchr(data, '\n', size); p != NULL;
             p = memchr(p + 1, '\n', data + size - p - 1))
            lines++;
    } else {
        count_marks(data, size, &found_equals, &found_colons, &lines);
        lines += 1;
    }
    if (equals >= 0 && (found_equals != equals * lines || found_colons != colons * lines)) {
        result = Py_NewRef(Py_None); /* a line of another shape (or a blank one) */
        goto done;
    }
    spans = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * count);
    columns = PyList_New(count);
    if (spans == NULL || columns == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *column = steps[i].wanted ? PyList_New(lines) : Py_NewRef(Py_None);
        if (column == NULL)
            goto done;
        PyList_SET_ITEM(columns, i, column);
    }
    Py_ssize_t start = 0;
    for (Py_ssize_t line = 0; line < lines; line++) {
        const char *newline = memchr(data + start, '\n', size - start);
        Py_ssize_t end = newline == NULL ? size : newline - data;
        /* The regex searches the line for its first literal and tries the rest from each
         * place it is found; the rest is deterministic (see `_native_spec` in metric_lines.py). */
        int matched = 0;
        if (json) {
            /* A JSON line is the object alone: its first text starts the line. */
            matched = end - start >= first_size && memcmp(data + start, first, first_size) == 0 &&
                      match_from(data, start + first_size, end, steps, count, final, final_size,
                                 spans);
        }
        for (Py_ssize_t at = json ? -1 : find_first(data, start, end, first, first_size); at >= 0;
             at = find_first(data, at + 1, end, first, first_size)) {
            if (match_from(data, at + first_size, end, steps, count, final, final_size, spans)) {
                matched = 1;
                break;
            }
        }
        if (!matched) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        for (Py_ssize_t i = 0; i < count; i++) {
            if (!steps[i].wanted)
                continue;
            const char *text = data + spans[2 * i];
            Py_ssize_t text_size = spans[2 * i + 1] - spans[2 * i];
            PyObject *value = json ? json_float(text, text_size) : to_float(text, text_size);
            if (value == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_ValueError))
                    goto done;
                PyErr_Clear(); /* not a number after all: line by line decides */
                result = Py_NewRef(Py_None);
                goto done;
            }
            PyList_SET_ITEM(PyList_GET_ITEM(columns, i), line, value);
        }
        start = end + 1;
    }
    result = Py_BuildValue("nO", lines, columns);
done:
    Py_XDECREF(columns);
    PyMem_Free(spans);
    PyMem_Free(steps);
    PyBuffer_Release(&block);
    return result;
}

/* -------------------------------------------------------------------------- read_frames */

/* Whether two floats print alike (repr): the same value with the same sign, or both NaN. */
static int
same_repr(double a, double b)
{
    if (a != a || b != b)
        return a != a && b != b;
    return a == b && signbit(a) == signbit(b);
}

/* One tqdm frame, data[start:end) from its CR, as `FrameTemplate.pattern` reads it (every part
 * of that regex is deterministic: each run stops at a byte its class excludes, and that byte
 * is the one the pattern wants next). Writes the spans of the count and of each value; 0 when
 * the frame has another shape. */
static int
match_frame(const char *d, Py_ssize_t p, Py_ssize_t e, const char *prefix,
            Py_ssize_t prefix_size, const char *total, Py_ssize_t total_size,
            PyObject *literals, Py_ssize_t *spans)
{
    p++; /* the CR */
    if (e - p < prefix_size || memcmp(d + p, prefix, prefix_size) != 0)
        return 0;
    p += prefix_size;
    while (p < e && is_space((unsigned char)d[p])) /* \s* */
        p++;
    Py_ssize_t from = p;
    while (p < e && d[p] >= '0' && d[p] <= '9') /* \d{1,3}% */
        p++;
    if (p == from || p - from > 3 || e - p < 2 || d[p] != '%' || d[p + 1] != '|')
        return 0;
    for (p += 2; p < e && d[p] != '|' && d[p] != '\n'; p++) /* [^|\r\n]*\| */
        ;
    if (p >= e || d[p] != '|')
        return 0;
    for (p++; p < e && is_space((unsigned char)d[p]); p++) /* \s*(\d+)/ */
        ;
    spans[0] = p;
    while (p < e && d[p] >= '0' && d[p] <= '9')
        p++;
    spans[1] = p;
    if (p == spans[0] || p >= e || d[p] != '/')
        return 0;
    p++;
    if (e - p < total_size + 2 || memcmp(d + p, total, total_size) != 0 ||
        d[p + total_size] != ' ' || d[p + total_size + 1] != '[')
        return 0;
    for (p += total_size + 2; p < e && d[p] != ']' && d[p] != ','; p++) /* [^\],]*, */
        ;
    if (e - p < 2 || d[p] != ',' || d[p + 1] != ' ')
        return 0;
    for (p += 2; p < e && d[p] != ']' && d[p] != ','; p++) /* the rate: [^\],]* */
        ;
    Py_ssize_t count = PyTuple_GET_SIZE(literals);
    for (Py_ssize_t i = 0; i < count; i++) { /* ,name=([^,\]]*) */
        PyObject *literal = PyTuple_GET_ITEM(literals, i);
        Py_ssize_t size = PyBytes_GET_SIZE(literal);
        if (e - p < size || memcmp(d + p, PyBytes_AS_STRING(literal), size) != 0)
            return 0;
        p += size;
        spans[2 + 2 * i] = p;
        while (p < e && d[p] != ',' && d[p] != ']')
            p++;
        spans[3 + 2 * i] = p;
    }
    if (p >= e || d[p] != ']') /* \][ ]*(?=\r|\Z) */
        return 0;
    for (p++; p < e && d[p] == ' '; p++)
        ;
    return p == e;
}

/* Sets list[index] to float(data[start:end)); 0 when it is no number or an infinity (the
 * frame-by-frame reading decides those), -1 on an error. */
static int
set_value(PyObject *list, Py_ssize_t index, const char *d, Py_ssize_t start, Py_ssize_t end,
          int finite)
{
    PyObject *value = to_float(d + start, end - start);
    if (value == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    if (finite && Py_IS_INFINITY(PyFloat_AS_DOUBLE(value))) {
        Py_DECREF(value);
        return 0;
    }
    PyList_SET_ITEM(list, index, value);
    return 1;
}

/* Whether frame `index`'s values (index >= 1) print differently from the frame's before. */
static int
differs(PyObject *columns, Py_ssize_t index)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(columns); i++) {
        PyObject *column = PyList_GET_ITEM(columns, i);
        if (!same_repr(PyFloat_AS_DOUBLE(PyList_GET_ITEM(column, index)),
                       PyFloat_AS_DOUBLE(PyList_GET_ITEM(column, index - 1))))
            return 1;
    }
    return 0;
}

static PyObject *
read_frames(PyObject *module, PyObject *args)
{
    Py_buffer buffer;
    Py_ssize_t pos, end, prefix_size, total_size;
    const char *prefix, *total;
    PyObject *literals;
    if (!PyArg_ParseTuple(args, "y*nny#y#O!", &buffer, &pos, &end, &prefix, &prefix_size,
                          &total, &total_size, &PyTuple_Type, &literals))
        return NULL;
    const char *d = buffer.buf;
    Py_ssize_t names = PyTuple_GET_SIZE(literals);
    Py_ssize_t *spans = NULL;
    PyObject *counts = NULL, *columns = NULL, *news = NULL, *result = NULL;
    for (Py_ssize_t i = 0; i < names; i++) {
        if (!PyBytes_Check(PyTuple_GET_ITEM(literals, i))) {
            PyErr_SetString(PyExc_TypeError, "literals must be bytes");
            goto done;
        }
    }
    /* Clamped as re's findall(data, pos, endpos) clamps them. */
    end = end < 0 ? 0 : end > buffer.len ? buffer.len : end;
    pos = pos < 0 ? 0 : pos > end ? end : pos;
    /* A frame starts at each CR (text before the first is no frame, and findall passes over
     * it as well): the lists are made to size, then filled. */
    Py_ssize_t frames = 0;
    for (const char *at = memchr(d + pos, '\r', end - pos); at != NULL;
         at = memchr(at + 1, '\r', d + end - at - 1))
        frames++;
    if (frames == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    spans = PyMem_Malloc(sizeof(Py_ssize_t) * (2 + 2 * names));
    counts = PyList_New(frames);
    columns = PyList_New(names);
    news = PyList_New(frames - 1);
    if (spans == NULL || counts == NULL || columns == NULL || news == NULL) {
        if (spans == NULL)
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < names; i++) {
        PyObject *column = PyList_New(frames);
        if (column == NULL)
            goto done;
        PyList_SET_ITEM(columns, i, column);
    }
    const char *cr = memchr(d + pos, '\r', end - pos);
    for (Py_ssize_t index = 0; index < frames; index++) {
        Py_ssize_t start = cr - d;
        cr = memchr(d + start + 1, '\r', end - start - 1);
        Py_ssize_t stop = cr == NULL ? end : cr - d;
        if (!match_frame(d, start, stop, prefix, prefix_size, total, total_size, literals,
                         spans)) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        for (Py_ssize_t i = -1; i < names; i++) {
            PyObject *list = i < 0 ? counts : PyList_GET_ITEM(columns, i);
            int set = set_value(list, index, d, spans[2 + 2 * i], spans[3 + 2 * i], i >= 0);
            if (set < 0)
                goto done;
            if (set == 0) {
                result = Py_NewRef(Py_None);
                goto done;
            }
        }
        if (index > 0)
            PyList_SET_ITEM(news, index - 1, Py_NewRef(differs(columns, index) ? Py_True : Py_False));
    }
    result = PyTuple_Pack(3, counts, columns, news);
done:
    Py_XDECREF(counts);
    Py_XDECREF(columns);
    Py_XDECREF(news);
    PyMem_Free(spans);
    PyBuffer_Release(&buffer);
    return result;
}

/* ------------------------------------------------------------------------- plain_lines */

/* Bytes are examined in blocks of this many, so that input that is not plain text (most
 * progress output holds \r or ESC early) is turned down without a pass over all of it. */
#define PLAIN_BLOCK 4096

/* How many '\n' `data` holds, or -1 when a byte is neither '\n' nor printable ASCII
 * (' '..'~'): no C0 control (\r and \t included), no DEL, nothing from 0x80 on. A loop per
 * block that the compiler vectorises. */
static Py_ssize_t
count_plain_newlines(const unsigned char *data, Py_ssize_t size)
{
    Py_ssize_t newlines = 0;
    for (Py_ssize_t from = 0; from < size; from += PLAIN_BLOCK) {
        Py_ssize_t stop = size - from < PLAIN_BLOCK ? size : from + PLAIN_BLOCK;
        unsigned int count = 0;
        unsigned char bad = 0;
        for (Py_ssize_t i = from; i < stop; i++) {
            unsigned char c = data[i];
            count += c == '\n';
            /* ' '..'~' is 0..0x5E after subtracting ' '; every other byte wraps above it. */
            bad |= (unsigned char)(c - 0x20) > 0x5E && c != '\n';
        }
        if (bad)
            return -1;
        newlines += count;
    }
    return newlines;
}

/* The lines of plain text as `terminal.render` shows them (its Python twin:
 * `terminal._plain_lines_in_python`): split at '\n', trailing spaces removed; the text after
 * the last '\n' is a line only when it holds more than spaces (the cursor's row,
 * `Screen.line_count`). None when `data` is not plain (see count_plain_newlines) or a line is
 * longer than `line_cap` columns (a terminal would cut it): the renderer then decides. */
static PyObject *
plain_lines(PyObject *module, PyObject *args)
{
    Py_buffer buffer;
    Py_ssize_t line_cap;
    if (!PyArg_ParseTuple(args, "y*n", &buffer, &line_cap))
        return NULL;
    const char *data = buffer.buf;
    Py_ssize_t size = buffer.len;
    PyObject *lines = NULL, *empty = NULL, *result = NULL;
    Py_ssize_t newlines = count_plain_newlines((const unsigned char *)data, size);
    if (newlines < 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    Py_ssize_t blank_end = size;
    while (blank_end > 0 && data[blank_end - 1] == ' ')
        blank_end--;
    int last_shown = blank_end > 0 && data[blank_end - 1] != '\n';
    Py_ssize_t count = newlines + last_shown;
    empty = PyUnicode_New(0, 127);
    lines = PyList_New(count);
    if (empty == NULL || lines == NULL)
        goto done;
    Py_ssize_t start = 0;
    for (Py_ssize_t index = 0; index < count; index++) {
        const char *newline = memchr(data + start, '\n', size - start);
        Py_ssize_t end = newline == NULL ? size : newline - data;
        if (end - start > line_cap) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        Py_ssize_t stop = end;
        while (stop > start && data[stop - 1] == ' ')
            stop--;
        PyObject *line;
        if (stop == start) {
            line = Py_NewRef(empty);
        } else {
            line = PyUnicode_New(stop - start, 127);
            if (line == NULL)
                goto done;
            memcpy(PyUnicode_DATA(line), data + start, stop - start);
        }
        PyList_SET_ITEM(lines, index, line);
        start = end + 1;
    }
    result = Py_NewRef(lines);
done:
    Py_XDECREF(lines);
    Py_XDECREF(empty);
    PyBuffer_Release(&buffer);
    return result;
}

/* ---------------------------------------------------------------------------- module */

static PyMethodDef methods[] = {
    {"read_block", read_block, METH_VARARGS,
     "read_block(block, first, steps, final, equals, colons, json=False)\n"
     "    -> (lines, columns) | None\n\n"
     "The numbers of lines of one template's shape, a column per value (None for a value\n"
     "not wanted); None when a line has another shape or a wanted number does not parse."},
    {"read_frames", read_frames, METH_VARARGS,
     "read_frames(data, pos, end, prefix, total, literals) -> (counts, columns, new) | None\n\n"
     "The frames of a tqdm bar of one shape (`FrameTemplate`) in data[pos:end), each from its\n"
     "CR: their counts, a column per postfix value, and for each frame after the first whether\n"
     "its values print differently from the one's before; None when a frame has another\n"
     "shape or a value is no finite number."},
    {"plain_lines", plain_lines, METH_VARARGS,
     "plain_lines(data, line_cap) -> list[str] | None\n\n"
     "The lines of printable ASCII text split at newlines, trailing spaces removed, as the\n"
     "terminal renderer shows them; None when a byte is another (a control, \\r, non-ASCII)\n"
     "or a line is longer than line_cap."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nbexp._native",
    .m_doc = "Compiled twins of nbexp's hottest loops (see _native.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&module_def);
}

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
 *   screen_run(screen, text, pos, span_type)
 *       `terminal.Screen._process`'s loop over text, controls and the short escapes, on the
 *       Screen's state (twin: the same loop in Python, `Screen._engine = None`); returns where
 *       the first token it leaves to Python starts. The one function here that is not pure.
 *   clean_text(text)
 *       decoded text without NUL and C1 controls, with a filler after each wide character
 *       (twin `Screen._clean` in Python), and whether one was filled.
 *   drop_aborted(text)
 *       text with each chain of aborted escape introducers as one ESC (twin
 *       `terminal._drop_aborted`), in one pass.
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

/* -------------------------------------------------------------------------- screen_run */

/* Characters that take two columns: the ranges of `terminal._WIDE` (its _WIDE_BMP and
 * _WIDE_ASTRAL), sorted; tests/test_native.py checks every boundary against the regex. */
static const Py_UCS4 wide_ranges[][2] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x23f0, 0x23f0},   {0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267f, 0x267f},   {0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26ce, 0x26ce},
    {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
    {0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},   {0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x27bf, 0x27bf},
    {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},
    {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},
    {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x1f004, 0x1f004},
    {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f251},
    {0x1f300, 0x1f64f}, {0x1f680, 0x1f6ff}, {0x1f7e0, 0x1f7eb}, {0x1f900, 0x1f9ff},
    {0x1fa70, 0x1faff}, {0x20000, 0x3fffd},
};

#define WIDE_RANGES ((Py_ssize_t)(sizeof(wide_ranges) / sizeof(wide_ranges[0])))

/* The BMP's wide characters, a bit each, filled from wide_ranges on first use (8 KiB): most
 * characters of a soup (U+FFFD above all) are looked up here in one step. */
static unsigned char wide_bmp[0x10000 / 8];
static int wide_bmp_ready;

static void
fill_wide_bmp(void)
{
    for (Py_ssize_t r = 0; r < WIDE_RANGES; r++)
        for (Py_UCS4 c = wide_ranges[r][0]; c <= wide_ranges[r][1] && c < 0x10000; c++)
            wide_bmp[c >> 3] |= (unsigned char)(1 << (c & 7));
    wide_bmp_ready = 1;
}

static int
is_wide(Py_UCS4 c)
{
    if (c < 0x1100)
        return 0;
    if (c < 0x10000)
        return (wide_bmp[c >> 3] >> (c & 7)) & 1;
    Py_ssize_t lo = 0, hi = WIDE_RANGES;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (c < wide_ranges[mid][0])
            hi = mid;
        else if (c > wide_ranges[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

#define FILL 0 /* `terminal._FILL`: stored after each wide character */
/* Beyond this, a column or count is left to Python (its ints have no bound). */
#define SCREEN_LIMIT ((Py_ssize_t)1 << 48)

/* The Screen's attributes that screen_run reads, by index into screen_names. */
enum {
    A_LINES, A_SPANS, A_CUT, A_CHANGED, A_FIRST, A_TOP, A_ROW, A_COL, A_SAVED, A_STYLE,
    A_WIDE, A_APPENDED, A_ROWS, A_MAX_LINES, A_LINE_CAP, A_TRIM, A_REACH, A_COUNT
};
static const char *const screen_attrs[A_COUNT] = {
    "_lines", "_spans", "_cut", "_changed", "_first", "_top", "_row", "_col", "_saved",
    "_style", "_wide", "_appended_from", "rows", "max_lines", "line_cap", "_trim", "_reach",
};
static PyObject *screen_names[A_COUNT];

/* A Screen's state while screen_run works on it: ints in C, the containers borrowed from
 * attrs (new references, released by engine_release). */
typedef struct {
    PyObject *screen;
    PyTypeObject *span_type;
    PyObject *attrs[A_COUNT];
    PyObject *lines, *spans, *cut, *changed, *style;
    Py_ssize_t first, top, row, col, rows, max_lines, cap;
    Py_ssize_t saved_row, saved_col, appended_from;
    int wide, saved_ok, saved_dirty, appended_dirty;
    PyObject *row_obj; /* row as an int, made when first needed */
    Py_UCS4 *buf;      /* the cursor's line, _lines[cur_idx] (cur_idx -1: none) */
    Py_ssize_t buf_size, cur_idx, cur_len, cur_fills;
    int cur_dirty;
    Py_ssize_t reach;
    int reach_dirty;
    Py_ssize_t changed_row; /* the row last added to _changed (-1: none) */
    Py_UCS4 *over; /* the overlay of a segment's redraws */
    Py_ssize_t over_size;
} Engine;

static void
engine_release(Engine *e)
{
    for (int i = 0; i < A_COUNT; i++)
        Py_CLEAR(e->attrs[i]);
    Py_CLEAR(e->row_obj);
    PyMem_Free(e->buf);
    PyMem_Free(e->over);
    e->buf = e->over = NULL;
    e->buf_size = e->over_size = 0;
}

/* An int attribute in [0, SCREEN_LIMIT), or -1 (no error set) when it is not one. */
static Py_ssize_t
small_int(PyObject *value)
{
    if (!PyLong_CheckExact(value))
        return -1;
    Py_ssize_t n = PyLong_AsSsize_t(value);
    if (n == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return n < 0 || n >= SCREEN_LIMIT ? -1 : n;
}

/* Read the Screen's attributes: 1 when screen_run can work on them, 0 when something is
 * unusual (Python then does the work), -1 on error. */
static int
engine_load(Engine *e)
{
    for (int i = 0; i < A_COUNT; i++) {
        Py_CLEAR(e->attrs[i]);
        e->attrs[i] = PyObject_GetAttr(e->screen, screen_names[i]);
        if (e->attrs[i] == NULL)
            return -1;
    }
    PyObject **a = e->attrs;
    e->lines = a[A_LINES];
    e->spans = a[A_SPANS];
    e->cut = a[A_CUT];
    e->changed = a[A_CHANGED];
    e->style = a[A_STYLE];
    if (!PyList_CheckExact(e->lines) || !PyList_CheckExact(e->spans) ||
        PyList_GET_SIZE(e->lines) != PyList_GET_SIZE(e->spans) ||
        !PySet_CheckExact(e->cut) || !PySet_CheckExact(e->changed) || !PyBool_Check(a[A_WIDE]))
        return 0;
    e->first = small_int(a[A_FIRST]);
    e->top = small_int(a[A_TOP]);
    e->row = small_int(a[A_ROW]);
    e->col = small_int(a[A_COL]);
    e->rows = small_int(a[A_ROWS]);
    e->cap = small_int(a[A_LINE_CAP]);
    e->max_lines = a[A_MAX_LINES] == Py_None ? -2 : small_int(a[A_MAX_LINES]);
    e->appended_from = a[A_APPENDED] == Py_None ? -2 : small_int(a[A_APPENDED]);
    e->reach = small_int(a[A_REACH]);
    if (e->first < 0 || e->top < 0 || e->row < 0 || e->col < 0 || e->rows < 1 || e->cap < 0 ||
        e->max_lines == -1 || e->appended_from == -1 || e->reach < 0 || e->row < e->top || e->top < e->first ||
        e->row - e->first >= PyList_GET_SIZE(e->lines))
        return 0;
    e->wide = a[A_WIDE] == Py_True;
    PyObject *saved = a[A_SAVED];
    e->saved_ok = PyTuple_CheckExact(saved) && PyTuple_GET_SIZE(saved) == 2 &&
                  (e->saved_row = small_int(PyTuple_GET_ITEM(saved, 0))) >= 0 &&
                  (e->saved_col = small_int(PyTuple_GET_ITEM(saved, 1))) >= 0;
    e->saved_dirty = e->appended_dirty = e->reach_dirty = 0;
    e->cur_idx = e->changed_row = -1;
    Py_CLEAR(e->row_obj);
    return 1;
}

static int
set_int_attr(PyObject *screen, PyObject *name, Py_ssize_t value)
{
    PyObject *number = PyLong_FromSsize_t(value);
    if (number == NULL)
        return -1;
    int status = PyObject_SetAttr(screen, name, number);
    Py_DECREF(number);
    return status;
}

/* Put the line that load_line took into buf back into _lines, as a str. */
static int
flush_line(Engine *e)
{
    Py_ssize_t idx = e->cur_idx;
    e->cur_idx = -1;
    if (idx < 0 || !e->cur_dirty)
        return 0;
    PyObject *line = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, e->buf, e->cur_len);
    return line == NULL ? -1 : PyList_SetItem(e->lines, idx, line);
}

/* Write the line and the ints back to the Screen (also on error paths: what was done stays
 * done). */
static int
engine_store(Engine *e)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    int status = flush_line(e);
    if (status == 0 && (set_int_attr(e->screen, screen_names[A_ROW], e->row) < 0 ||
                        set_int_attr(e->screen, screen_names[A_COL], e->col) < 0 ||
                        set_int_attr(e->screen, screen_names[A_TOP], e->top) < 0))
        status = -1;
    if (status == 0 && e->saved_dirty) {
        PyObject *saved = Py_BuildValue("(nn)", e->saved_row, e->saved_col);
        if (saved == NULL || PyObject_SetAttr(e->screen, screen_names[A_SAVED], saved) < 0)
            status = -1;
        Py_XDECREF(saved);
        e->saved_dirty = 0;
    }
    if (status == 0 && e->reach_dirty) {
        status = set_int_attr(e->screen, screen_names[A_REACH], e->reach);
        e->reach_dirty = 0;
    }
    if (status == 0 && e->appended_dirty) {
        status = set_int_attr(e->screen, screen_names[A_APPENDED], e->appended_from);
        e->appended_dirty = 0;
    }
    if (type != NULL)
        PyErr_Restore(type, value, traceback); /* the first error is the one to report */
    return type != NULL ? -1 : status;
}

static void
set_row(Engine *e, Py_ssize_t row)
{
    if (row != e->row)
        Py_CLEAR(e->row_obj);
    e->row = row;
}

/* `self._changed.add(self._row)` (or `_cut`). */
static int
add_row(Engine *e, PyObject *set)
{
    if (set == e->changed && e->changed_row == e->row)
        return 0; /* added already in this call */
    if (e->row_obj == NULL && (e->row_obj = PyLong_FromSsize_t(e->row)) == NULL)
        return -1;
    if (PySet_Add(set, e->row_obj) < 0)
        return -1;
    if (set == e->changed)
        e->changed_row = e->row;
    return 0;
}

static int
add_number(PyObject *set, Py_ssize_t number)
{
    PyObject *value = PyLong_FromSsize_t(number);
    if (value == NULL)
        return -1;
    int status = PySet_Add(set, value);
    Py_DECREF(value);
    return status;
}

/* Append a blank line: "" to _lines, None to _spans. */
static int
append_blank(Engine *e)
{
    PyObject *empty = PyUnicode_New(0, 0);
    if (empty == NULL)
        return -1;
    int status = PyList_Append(e->lines, empty);
    Py_DECREF(empty);
    if (status < 0)
        return -1;
    return PyList_Append(e->spans, Py_None);
}

/* `Screen._ensure_row`. */
static int
ensure_row(Engine *e, Py_ssize_t row)
{
    Py_ssize_t missing = row - e->first - PyList_GET_SIZE(e->lines) + 1;
    for (Py_ssize_t n = row - missing + 1; n <= row; n++)
        if (append_blank(e) < 0 || add_number(e->changed, n) < 0)
            return -1;
    return 0;
}

/* `Screen._linefeed`. */
static int
linefeed(Engine *e)
{
    e->col = 0;
    set_row(e, e->row + 1);
    if (e->row >= e->top + e->rows)
        e->top = e->row - e->rows + 1;
    if (e->row - e->first >= PyList_GET_SIZE(e->lines))
        return append_blank(e) < 0 ? -1 : add_row(e, e->changed);
    return 0;
}

static int
grow(Py_UCS4 **buffer, Py_ssize_t *size, Py_ssize_t wanted)
{
    if (wanted <= *size)
        return 0;
    Py_ssize_t size_now = wanted < 256 ? 256 : wanted + wanted / 2;
    Py_UCS4 *grown = PyMem_Realloc(*buffer, size_now * sizeof(Py_UCS4));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buffer = grown;
    *size = size_now;
    return 0;
}

/* A Span(start, end, style), made as tuple.__new__ makes a tuple subclass's instance. */
static PyObject *
new_span(Engine *e, Py_ssize_t start, Py_ssize_t end, PyObject *style)
{
    PyObject *first = PyLong_FromSsize_t(start);
    PyObject *last = PyLong_FromSsize_t(end);
    PyObject *span = first && last ? e->span_type->tp_alloc(e->span_type, 3) : NULL;
    if (span == NULL) {
        Py_XDECREF(first);
        Py_XDECREF(last);
        return NULL;
    }
    PyTuple_SET_ITEM(span, 0, first);
    PyTuple_SET_ITEM(span, 1, last);
    PyTuple_SET_ITEM(span, 2, Py_NewRef(style));
    return span;
}

/* A span's start (0) or end (1); -1 with an error when it is no Span of small ints. */
static Py_ssize_t
span_field(PyObject *span, int field)
{
    if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 3) {
        PyErr_SetString(PyExc_TypeError, "screen_run: a span is not a Span");
        return -1;
    }
    Py_ssize_t value = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, field));
    return value == -1 && PyErr_Occurred() ? -1 : value;
}

/* `_merge(local)`: touching spans of equal style become one. New list, or NULL. */
static PyObject *
merge_spans(Engine *e, PyObject *local)
{
    PyObject *merged = PyList_New(0);
    if (merged == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(local); i++) {
        PyObject *span = PyList_GET_ITEM(local, i);
        Py_ssize_t count = PyList_GET_SIZE(merged);
        if (count > 0) {
            PyObject *last = PyList_GET_ITEM(merged, count - 1);
            Py_ssize_t start = span_field(span, 0), last_end = span_field(last, 1);
            if (PyErr_Occurred())
                goto error;
            if (start == last_end) {
                int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(span, 2),
                                                    PyTuple_GET_ITEM(last, 2), Py_EQ);
                if (same < 0)
                    goto error;
                if (same) {
                    Py_ssize_t end = span_field(span, 1), last_start = span_field(last, 0);
                    if (PyErr_Occurred())
                        goto error;
                    PyObject *joined = new_span(e, last_start, end, PyTuple_GET_ITEM(last, 2));
                    if (joined == NULL || PyList_SetItem(merged, count - 1, joined) < 0)
                        goto error;
                    continue;
                }
            }
        }
        if (PyList_Append(merged, span) < 0)
            goto error;
    }
    return merged;
error:
    Py_DECREF(merged);
    return NULL;
}

/* bisect_right(spans, x, key=end) (field 1) or bisect_left(spans, x, lo, key=start)
 * (field 0), step for step as `bisect` does them; -1 with an error. */
static Py_ssize_t
bisect_spans(PyObject *spans, Py_ssize_t x, Py_ssize_t lo, int field)
{
    Py_ssize_t hi = PyList_GET_SIZE(spans);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        Py_ssize_t key = span_field(PyList_GET_ITEM(spans, mid), field);
        if (key == -1 && PyErr_Occurred())
            return -1;
        if (field == 1 ? x < key : !(key < x))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Add a new Span to list `pieces`. */
static int
add_span(Engine *e, PyObject *pieces, Py_ssize_t start, Py_ssize_t end, PyObject *style)
{
    PyObject *span = new_span(e, start, end, style);
    if (span == NULL)
        return -1;
    int status = PyList_Append(pieces, span);
    Py_DECREF(span);
    return status;
}

/* `Screen._restyle` where the spans [lo, hi) touch [start, end): rebuilt with neighbours. */
static int
restyle_slice(Engine *e, PyObject *spans, Py_ssize_t start, Py_ssize_t end, PyObject *style)
{
    Py_ssize_t lo = bisect_spans(spans, start, 0, 1);
    Py_ssize_t hi = lo < 0 ? -1 : bisect_spans(spans, end, lo, 0);
    if (hi < 0)
        return -1;
    Py_ssize_t count = PyList_GET_SIZE(spans);
    Py_ssize_t before = lo - 1 > 0 ? lo - 1 : 0, after = hi + 1 < count ? hi + 1 : count;
    PyObject *local = PyList_GetSlice(spans, before, lo), *merged = NULL;
    if (local == NULL)
        return -1;
    if (lo < hi) {
        PyObject *span = PyList_GET_ITEM(spans, lo);
        Py_ssize_t span_start = span_field(span, 0);
        if (PyErr_Occurred())
            goto error;
        if (span_start < start &&
            add_span(e, local, span_start, start, PyTuple_GET_ITEM(span, 2)) < 0)
            goto error;
    }
    if (style != Py_None && add_span(e, local, start, end, style) < 0)
        goto error;
    if (lo < hi) {
        PyObject *span = PyList_GET_ITEM(spans, hi - 1);
        Py_ssize_t span_end = span_field(span, 1);
        if (PyErr_Occurred())
            goto error;
        if (span_end > end && add_span(e, local, end, span_end, PyTuple_GET_ITEM(span, 2)) < 0)
            goto error;
    }
    for (Py_ssize_t i = hi; i < after; i++)
        if (PyList_Append(local, PyList_GET_ITEM(spans, i)) < 0)
            goto error;
    merged = PyList_GET_SIZE(local) ? merge_spans(e, local) : PyList_New(0);
    if (merged == NULL || PyList_SetSlice(spans, before, after, merged) < 0)
        goto error;
    Py_DECREF(local);
    Py_DECREF(merged);
    return 0;
error:
    Py_DECREF(local);
    Py_XDECREF(merged);
    return -1;
}

/* `Screen._restyle(idx, start, end, style)`: columns [start, end) of line idx in style. */
static int
restyle(Engine *e, Py_ssize_t idx, Py_ssize_t start, Py_ssize_t end, PyObject *style)
{
    PyObject *spans = PyList_GET_ITEM(e->spans, idx);
    if (spans != Py_None && !PyList_CheckExact(spans)) {
        PyErr_SetString(PyExc_TypeError, "screen_run: a line's spans are not a list");
        return -1;
    }
    Py_ssize_t count = spans == Py_None ? 0 : PyList_GET_SIZE(spans);
    if (count && style != Py_None && end > start) {
        PyObject *last = PyList_GET_ITEM(spans, count - 1);
        Py_ssize_t last_end = span_field(last, 1);
        if (PyErr_Occurred())
            return -1;
        if (last_end <= start) { /* past every styled column */
            int same = 0;
            if (last_end == start) {
                same = PyObject_RichCompareBool(PyTuple_GET_ITEM(last, 2), style, Py_EQ);
                if (same < 0)
                    return -1;
            }
            if (!same)
                return add_span(e, spans, start, end, style);
            if (Py_REFCNT(last) == 1 && Py_TYPE(last) == e->span_type) {
                /* Span(last.start, end, style) in place of the last: nothing else can see
                 * this one (the list holds the only reference), so it is made anew in its
                 * own memory instead of a fresh tuple's. */
                PyObject *new_end = PyLong_FromSsize_t(end);
                if (new_end == NULL)
                    return -1;
                Py_SETREF(((PyTupleObject *)last)->ob_item[1], new_end);
                Py_SETREF(((PyTupleObject *)last)->ob_item[2], Py_NewRef(style));
                return 0;
            }
            Py_ssize_t last_start = span_field(last, 0);
            PyObject *joined = PyErr_Occurred() ? NULL : new_span(e, last_start, end, style);
            return joined == NULL ? -1 : PyList_SetItem(spans, count - 1, joined);
        }
    }
    if (end <= start)
        return 0;
    if (!count) {
        if (style == Py_None)
            return 0;
        PyObject *fresh = PyList_New(1);
        PyObject *span = fresh ? new_span(e, start, end, style) : NULL;
        if (span == NULL) {
            Py_XDECREF(fresh);
            return -1;
        }
        PyList_SET_ITEM(fresh, 0, span);
        return PyList_SetItem(e->spans, idx, fresh);
    }
    if (restyle_slice(e, spans, start, end, style) < 0)
        return -1;
    if (PyList_GET_SIZE(spans) == 0)
        return PyList_SetItem(e->spans, idx, Py_NewRef(Py_None));
    return 0;
}

/* Load the cursor's line into buf, where screen_run writes on it until the cursor leaves
 * it (then flush_line makes it a str again): a write costs a copy of its own characters. */
static int
load_line(Engine *e)
{
    Py_ssize_t idx = e->row - e->first;
    if (e->cur_idx == idx)
        return 0;
    if (flush_line(e) < 0)
        return -1;
    PyObject *line = PyList_GET_ITEM(e->lines, idx);
    if (!PyUnicode_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "screen_run: a line is not a str");
        return -1;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(line), fills = 0;
    if (grow(&e->buf, &e->buf_size, length) < 0)
        return -1;
    int kind = PyUnicode_KIND(line);
    const void *data = PyUnicode_DATA(line);
    for (Py_ssize_t i = 0; i < length; i++)
        fills += (e->buf[i] = PyUnicode_READ(kind, data, i)) == FILL;
    e->cur_idx = idx;
    e->cur_len = length;
    e->cur_fills = fills;
    e->cur_dirty = 0;
    return 0;
}

/* `Screen._write`: n characters of (kind, data) from `from` at the cursor, in the style. */
static int
write_text(Engine *e, int kind, const void *data, Py_ssize_t from, Py_ssize_t n)
{
    Py_ssize_t col = e->col, end = col + n, cap = e->cap;
    e->col = end;
    if (add_row(e, e->changed) < 0)
        return -1;
    if (col >= cap)
        return add_row(e, e->cut);
    if (load_line(e) < 0)
        return -1;
    Py_ssize_t length = e->cur_len, fills = e->cur_fills, added = 0;
    /* Past the cap only line[:cap] stays, and what _fix_wide does there is cut off too. */
    Py_ssize_t stop = end > cap ? cap : end;
    Py_ssize_t total = end > cap ? cap : end > length ? end : length;
    if (grow(&e->buf, &e->buf_size, total) < 0)
        return -1;
    Py_UCS4 *buf = e->buf;
    int old_fills = fills > 0;
    for (Py_ssize_t i = length; i < col; i++)
        buf[i] = ' ';
    for (Py_ssize_t i = col; i < stop; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, from + i - col);
        if (i < length)
            fills -= buf[i] == FILL;
        added += c == FILL;
        buf[i] = c;
    }
    for (Py_ssize_t i = stop; i < length && end > cap; i++)
        fills -= buf[i] == FILL; /* cut off */
    fills += added;
    /* `_FILL in old or _FILL in text` (all of the text, also what the cap cuts off) */
    int fix = e->wide && (old_fills || added);
    for (Py_ssize_t j = stop - col; e->wide && !fix && j < n; j++)
        fix = PyUnicode_READ(kind, data, from + j) == FILL;
    if (fix) { /* `_fix_wide(line, col, end)`: line[col] exists, line[end] only below the cap */
        if (col > 0 && is_wide(buf[col - 1]) && buf[col] != FILL)
            buf[col - 1] = ' ';
        if (end < total && buf[end] == FILL && !is_wide(buf[end - 1])) {
            buf[end] = ' ';
            fills--;
        }
    }
    e->cur_len = total;
    e->cur_fills = fills;
    e->cur_dirty = 1;
    if (end > cap && add_row(e, e->cut) < 0)
        return -1;
    Py_ssize_t idx = e->cur_idx;
    if (e->style != Py_None || PyList_GET_ITEM(e->spans, idx) != Py_None)
        return restyle(e, idx, col, stop, e->style);
    return 0;
}

/* The text being worked on, and the Engine. */
typedef struct {
    Engine *e;
    PyObject *text;
    int kind;
    const void *data;
} Run;

static Py_ssize_t
find_char(const Run *r, Py_ssize_t from, Py_ssize_t to, Py_UCS4 c)
{
    for (Py_ssize_t i = from; i < to; i++)
        if (PyUnicode_READ(r->kind, r->data, i) == c)
            return i;
    return -1;
}

static Py_ssize_t
rfind_char(const Run *r, Py_ssize_t from, Py_ssize_t to, Py_UCS4 c)
{
    for (Py_ssize_t i = to - 1; i >= from; i--)
        if (PyUnicode_READ(r->kind, r->data, i) == c)
            return i;
    return -1;
}

/* `Screen._segment(text[a:b])`: \r returns to column 0, later pieces overwrite earlier ones
 * (at once, as `_overlay` has it, unless a wide character's filler is in play). */
static int
segment(const Run *r, Py_ssize_t a, Py_ssize_t b)
{
    Engine *e = r->e;
    Py_ssize_t first_cr = find_char(r, a, b, '\r');
    if (first_cr < 0)
        return b > a ? write_text(e, r->kind, r->data, a, b - a) : 0;
    if (first_cr > a && write_text(e, r->kind, r->data, a, first_cr - a) < 0)
        return -1;
    if (e->wide) {
        int fills = find_char(r, a, b, FILL) >= 0;
        if (!fills) {
            if (load_line(e) < 0)
                return -1;
            fills = e->cur_fills > 0;
        }
        if (fills) { /* each piece written in turn, with its fix-ups */
            for (Py_ssize_t start = first_cr + 1;;) {
                Py_ssize_t cr = find_char(r, start, b, '\r'), stop = cr < 0 ? b : cr;
                e->col = 0;
                if (stop > start && write_text(e, r->kind, r->data, start, stop - start) < 0)
                    return -1;
                if (cr < 0)
                    return 0;
                start = cr + 1;
            }
        }
    }
    /* `_overlay`: column c shows the last piece longer than c. */
    Py_ssize_t covered = 0, last = -1;
    for (Py_ssize_t stop = b;;) {
        Py_ssize_t cr = rfind_char(r, first_cr, stop, '\r'), length = stop - cr - 1;
        if (last < 0)
            last = length;
        if (length > covered) {
            if (grow(&e->over, &e->over_size, length) < 0)
                return -1;
            for (Py_ssize_t i = covered; i < length; i++)
                e->over[i] = PyUnicode_READ(r->kind, r->data, cr + 1 + i);
            covered = length;
        }
        if (cr == first_cr)
            break;
        stop = cr;
    }
    e->col = 0;
    if (covered > 0 && write_text(e, PyUnicode_4BYTE_KIND, e->over, 0, covered) < 0)
        return -1;
    e->col = last;
    return 0;
}

/* Call the Screen's `_trim` as `_bulk_lines` does, with the state written back first and
 * read again after. */
static int
call_trim(Engine *e)
{
    if (engine_store(e) < 0)
        return -1;
    PyObject *result = PyObject_CallNoArgs(e->attrs[A_TRIM]);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    int loaded = engine_load(e);
    if (loaded == 0)
        PyErr_SetString(PyExc_RuntimeError, "screen_run: the screen changed under _trim");
    return loaded > 0 ? 0 : -1;
}

/* `Screen._bulk_lines` for text[a:b] whose first newline is at nl and last at last_nl:
 * 1 when the middle lines were appended at once, 0 when they must go one at a time. */
static int
bulk_lines(const Run *r, Py_ssize_t a, Py_ssize_t b, Py_ssize_t nl, Py_ssize_t last_nl)
{
    Engine *e = r->e;
    Py_ssize_t idx = e->row - e->first, count = 0, longest = 0;
    if (flush_line(e) < 0)
        return -1;
    if (e->style != Py_None || idx != PyList_GET_SIZE(e->lines) - 1 ||
        PyUnicode_GET_LENGTH(PyList_GET_ITEM(e->lines, idx)) != 0 ||
        PyList_GET_ITEM(e->spans, idx) != Py_None || find_char(r, a, b, '\r') >= 0)
        return 0;
    for (Py_ssize_t start = nl + 1; start <= last_nl; count++) {
        Py_ssize_t stop = find_char(r, start, last_nl + 1, '\n');
        longest = stop - start > longest ? stop - start : longest;
        start = stop + 1;
    }
    if (longest > e->cap)
        return 0;
    Py_ssize_t index = 0;
    for (Py_ssize_t start = nl + 1; start <= last_nl; index++) {
        Py_ssize_t stop = find_char(r, start, last_nl + 1, '\n');
        PyObject *line = PyUnicode_Substring(r->text, start, stop);
        if (line == NULL)
            return -1;
        int status = index == 0 ? PyList_SetItem(e->lines, idx, line)
                                : PyList_Append(e->lines, line);
        if (index > 0)
            Py_DECREF(line);
        if (status < 0 || (index > 0 && PyList_Append(e->spans, Py_None) < 0))
            return -1;
        start = stop + 1;
    }
    if (append_blank(e) < 0)
        return -1;
    Py_ssize_t start = e->row;
    set_row(e, e->row + count);
    e->col = 0;
    if (e->row - e->rows + 1 > e->top)
        e->top = e->row - e->rows + 1;
    if (e->appended_from == -2) { /* None: every line from here on is new (see `feed`) */
        e->appended_from = start;
        e->appended_dirty = 1;
    }
    if (e->max_lines != -2 && PyList_GET_SIZE(e->lines) > 2 * e->max_lines &&
        call_trim(e) < 0)
        return -1;
    return 1;
}

/* `Screen._text(text[a:b])` for a run that holds a newline or \r (and `_write` for one
 * that holds neither). */
static int
text_run(const Run *r, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t nl = find_char(r, a, b, '\n');
    if (nl < 0)
        return segment(r, a, b);
    if (segment(r, a, nl) < 0 || linefeed(r->e) < 0)
        return -1;
    Py_ssize_t last_nl = rfind_char(r, nl, b, '\n');
    if (last_nl > nl) {
        int bulk = bulk_lines(r, a, b, nl, last_nl);
        if (bulk < 0)
            return -1;
        for (Py_ssize_t start = nl + 1; !bulk && start <= last_nl;) {
            Py_ssize_t stop = find_char(r, start, last_nl + 1, '\n');
            if (segment(r, start, stop) < 0 || linefeed(r->e) < 0)
                return -1;
            start = stop + 1;
        }
    }
    return last_nl + 1 < b ? segment(r, last_nl + 1, b) : 0;
}

/* `Screen._controls` for the run text[a:b]: tabs and backspaces move the cursor. */
static void
controls(const Run *r, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t col = r->e->col;
    for (Py_ssize_t i = a; i < b; i++) {
        Py_UCS4 c = PyUnicode_READ(r->kind, r->data, i);
        if (c == '\t')
            col = (col / 8 + 1) * 8;
        else if (c == '\b')
            col = col > 0 ? col - 1 : 0;
    }
    r->e->col = col;
}

#define SCREEN_LEAVE (-2) /* an escape that Python handles */

/* `Screen._went_up`. */
static void
went_up(Engine *e)
{
    Py_ssize_t reach = e->first + PyList_GET_SIZE(e->lines) - 1 - e->row;
    if (reach > e->reach) {
        e->reach = reach;
        e->reach_dirty = 1;
    }
}

/* `Screen._move_to_row`: rows count from 1 at the top of the live screenful. */
static int
move_to_row(Engine *e, Py_ssize_t row)
{
    set_row(e, e->top + (row < e->rows ? row : e->rows) - 1);
    if (ensure_row(e, e->row) < 0)
        return -1;
    went_up(e);
    return 0;
}

/* `_down(count, scroll=False)`. */
static int
down_on_screen(Engine *e, Py_ssize_t count)
{
    Py_ssize_t row = e->row + count, bottom = e->top + e->rows - 1;
    set_row(e, row > bottom ? bottom : row);
    return ensure_row(e, e->row);
}

/* The cursor moves of `_CSI_HANDLERS` (and s, u) for `final` with arguments args[0:nargs]
 * (two at most matter, `_count` of each); SCREEN_LEAVE for the others. */
static Py_ssize_t
csi_move(Engine *e, Py_UCS4 final, const Py_ssize_t *args, Py_ssize_t nargs)
{
    Py_ssize_t count = nargs > 0 && args[0] > 0 ? args[0] : 1;
    Py_ssize_t second = nargs > 1 && args[1] > 0 ? args[1] : 1;
    switch (final) {
    case 'F':
        e->col = 0;
        /* fall through */
    case 'A':
        set_row(e, e->row - count > e->top ? e->row - count : e->top);
        went_up(e);
        return 0;
    case 'E':
        e->col = 0;
        /* fall through */
    case 'B':
    case 'e':
        return down_on_screen(e, count);
    case 'C':
    case 'a':
        if (e->col + count >= SCREEN_LIMIT)
            return SCREEN_LEAVE;
        e->col += count;
        return 0;
    case 'D':
        e->col = e->col - count > 0 ? e->col - count : 0;
        return 0;
    case 'G':
    case '`':
        e->col = count - 1;
        return 0;
    case 'H':
    case 'f':
        if (move_to_row(e, count) < 0)
            return -1;
        e->col = second - 1;
        return 0;
    case 'd':
        return move_to_row(e, count);
    case 's':
        e->saved_row = e->row - e->top;
        e->saved_col = e->col;
        e->saved_ok = e->saved_dirty = 1;
        return 0;
    case 'u':
        if (!e->saved_ok)
            return SCREEN_LEAVE;
        set_row(e, e->top + (e->saved_row < e->rows - 1 ? e->saved_row : e->rows - 1));
        e->col = e->saved_col;
        return ensure_row(e, e->row);
    case 'K': case 'J': case '@': case 'P': case 'X': case 'L': case 'M': case 'm':
        return SCREEN_LEAVE;
    }
    return 0; /* no handler: nothing happens */
}

#define IN(c, lo, hi) ((c) >= (lo) && (c) <= (hi))

/* A CSI at text[pos] (ESC [): `_ESCAPE`'s first branch, then `_csi`, or `_malformed` and
 * `_skip_sequence` when it is broken. Where to go on, SCREEN_LEAVE or -1. */
static Py_ssize_t
csi(const Run *r, Py_ssize_t pos, Py_ssize_t end)
{
    Py_ssize_t i = pos + 2, start = pos + 2;
    while (i < end && i - start <= 256 && IN(PyUnicode_READ(r->kind, r->data, i), 0x30, 0x3f))
        i++;
    Py_ssize_t params = i - start, inter = i;
    while (params <= 256 && i < end && i - inter <= 8 &&
           IN(PyUnicode_READ(r->kind, r->data, i), 0x20, 0x2f))
        i++;
    if (params <= 256 && i - inter <= 8) {
        if (i >= end)
            return SCREEN_LEAVE; /* incomplete: kept for the next chunk */
        Py_UCS4 final = PyUnicode_READ(r->kind, r->data, i);
        if (IN(final, 0x40, 0x7e)) {
            Py_UCS4 lead = params ? PyUnicode_READ(r->kind, r->data, start) : 0;
            if (i > inter || IN(lead, '<', '?'))
                return i + 1; /* private modes and the like change nothing shown */
            Py_ssize_t args[2] = {0, 0}, nargs = 0, value = 0, digits = 0;
            for (Py_ssize_t j = start; params && j <= inter; j++) {
                Py_UCS4 c = j < inter ? PyUnicode_READ(r->kind, r->data, j) : ';';
                if (c == ';') { /* int(p) if p.isdigit() else 0 */
                    if (nargs < 2)
                        args[nargs] = digits > 0 ? value : 0;
                    nargs++;
                    value = digits = 0;
                } else if (digits >= 0 && IN(c, '0', '9')) {
                    if (++digits > 9)
                        return SCREEN_LEAVE; /* a count this big is Python's */
                    value = value * 10 + (c - '0');
                } else {
                    digits = -1; /* not all digits */
                }
            }
            Py_ssize_t done = csi_move(r->e, final, args, nargs);
            return done < 0 ? done : i + 1;
        }
    }
    /* Broken: skip what belongs to it (the parameters, then its final byte if one is next). */
    for (i = pos + 2; i < end && IN(PyUnicode_READ(r->kind, r->data, i), 0x20, 0x3f); i++)
        ;
    if (i >= end)
        return SCREEN_LEAVE; /* skipped on into the next chunk */
    return IN(PyUnicode_READ(r->kind, r->data, i), 0x40, 0x7e) ? i + 1 : i;
}

/* An OSC at text[pos] (ESC ]): titles and the like show nothing; OSC 8 (a hyperlink), one
 * that is incomplete or over-long is Python's. Where to go on, or SCREEN_LEAVE. */
static Py_ssize_t
osc(const Run *r, Py_ssize_t pos, Py_ssize_t end)
{
    Py_ssize_t start = pos + 2, q = start;
    Py_UCS4 c = 0;
    for (; q < end && q - start <= 4096; q++) {
        c = PyUnicode_READ(r->kind, r->data, q);
        if (c == 0x07 || c == 0x1b)
            break;
    }
    if (q >= end || q - start > 4096)
        return SCREEN_LEAVE;
    int link = q - start >= 2 && PyUnicode_READ(r->kind, r->data, start) == '8' &&
               PyUnicode_READ(r->kind, r->data, start + 1) == ';';
    if (c == 0x07)
        return link ? SCREEN_LEAVE : q + 1;
    if (q + 1 >= end)
        return SCREEN_LEAVE; /* ESC at the end: maybe the start of ST */
    if (PyUnicode_READ(r->kind, r->data, q + 1) == '\\')
        return link ? SCREEN_LEAVE : q + 2;
    return q; /* broken: skipped up to the ESC that cut it short */
}

/* The escape at text[pos] (ESC) when it is one of the two- or three-character escapes, or a
 * lone ESC before something that cannot follow it (`_malformed`): where to go on; else
 * SCREEN_LEAVE (CSI, OSC, an incomplete one, ESC M, ESC c), or -1 on error. */
static Py_ssize_t
short_escape(const Run *r, Py_ssize_t pos, Py_ssize_t end)
{
    Engine *e = r->e;
    if (pos + 1 >= end)
        return SCREEN_LEAVE;
    Py_UCS4 next = PyUnicode_READ(r->kind, r->data, pos + 1);
    if (next == '[')
        return csi(r, pos, end);
    if (next == ']')
        return osc(r, pos, end);
    Py_ssize_t k = 0; /* intermediates, ' '..'/', at most 8 */
    while (k <= 8 && pos + 1 + k < end) {
        Py_UCS4 c = PyUnicode_READ(r->kind, r->data, pos + 1 + k);
        if (c < 0x20 || c > 0x2f)
            break;
        k++;
    }
    if (k > 8)
        return pos + 1;
    if (pos + 1 + k >= end)
        return SCREEN_LEAVE;
    Py_UCS4 final = PyUnicode_READ(r->kind, r->data, pos + 1 + k);
    if (!((final >= 0x30 && final <= 0x5a) || final == 0x5c || (final >= 0x5e && final <= 0x7e)))
        return pos + 1; /* not an escape: the ESC alone is dropped */
    if (k > 0)
        return pos + 2 + k; /* charset designations and the like */
    switch (final) {
    case '7':
        e->saved_row = e->row - e->top;
        e->saved_col = e->col;
        e->saved_ok = e->saved_dirty = 1;
        break;
    case '8': {
        if (!e->saved_ok)
            return SCREEN_LEAVE;
        Py_ssize_t row = e->saved_row < e->rows - 1 ? e->saved_row : e->rows - 1;
        set_row(e, e->top + row);
        e->col = e->saved_col;
        if (ensure_row(e, e->row) < 0)
            return -1;
        break;
    }
    case 'D':
        set_row(e, e->row + 1);
        if (e->row > e->top + e->rows - 1)
            e->top = e->row - e->rows + 1;
        if (ensure_row(e, e->row) < 0)
            return -1;
        break;
    case 'E':
        if (linefeed(e) < 0)
            return -1;
        break;
    case 'M':
    case 'c':
        return SCREEN_LEAVE;
    }
    return pos + 2;
}

/* ESC, and the controls that `_process` handles a run at a time (_CONTROL_RUN). */
#define IS_SPECIAL(c) ((c) < 0x20 && ((c) == 0x1b || ((c) >= 7 && (c) <= 9) || (c) == 0x18 || (c) == 0x1a))

/* Work through text from pos as `Screen._process` does, up to the first token left to it. */
static Py_ssize_t
run_screen(const Run *r, Py_ssize_t pos, Py_ssize_t end)
{
    while (pos < end) {
        Py_UCS4 c = PyUnicode_READ(r->kind, r->data, pos);
        Py_ssize_t stop = pos;
        if (c == 0x1b) {
            stop = short_escape(r, pos, end);
            if (stop == SCREEN_LEAVE)
                return pos;
            if (stop < 0)
                return -1;
        } else if (IS_SPECIAL(c)) {
            while (stop < end && IS_SPECIAL(c) && c != 0x1b)
                c = ++stop < end ? PyUnicode_READ(r->kind, r->data, stop) : 0;
            controls(r, pos, stop);
        } else {
            int breaks = 0; /* whether the run holds \n or \r */
            while (stop < end && !IS_SPECIAL(c)) {
                breaks |= c == '\n' || c == '\r';
                c = ++stop < end ? PyUnicode_READ(r->kind, r->data, stop) : 0x1b;
            }
            if ((breaks ? text_run(r, pos, stop)
                        : write_text(r->e, r->kind, r->data, pos, stop - pos)) < 0)
                return -1;
        }
        pos = stop;
    }
    return pos;
}

/* screen_run(screen, text, pos, span_type): `Screen._process`'s loop from text[pos] in C for
 * text, controls and the short escapes; returns where the first token it leaves to Python
 * (CSI, OSC, ESC M, ESC c, anything incomplete) starts, or len(text). The Screen's state is
 * read at the start and written back before returning (also when an error is raised). */
static PyObject *
screen_run(PyObject *module, PyObject *args)
{
    PyObject *screen, *text, *span_type;
    Py_ssize_t pos;
    if (!PyArg_ParseTuple(args, "OUnO!", &screen, &text, &pos, &PyType_Type, &span_type))
        return NULL;
    PyTypeObject *type = (PyTypeObject *)span_type;
    if (!PyType_IsSubtype(type, &PyTuple_Type) || type->tp_itemsize != sizeof(PyObject *)) {
        PyErr_SetString(PyExc_TypeError, "screen_run: span_type must be a tuple subclass");
        return NULL;
    }
    Py_ssize_t end = PyUnicode_GET_LENGTH(text);
    if (pos < 0 || pos > end) {
        PyErr_SetString(PyExc_ValueError, "screen_run: pos out of range");
        return NULL;
    }
    if (!wide_bmp_ready)
        fill_wide_bmp();
    if (screen_names[0] == NULL) {
        for (int i = 0; i < A_COUNT; i++)
            if ((screen_names[i] = PyUnicode_InternFromString(screen_attrs[i])) == NULL)
                return NULL;
    }
    Engine e = {.screen = screen, .span_type = type, .cur_idx = -1};
    Run r = {.e = &e, .text = text, .kind = PyUnicode_KIND(text), .data = PyUnicode_DATA(text)};
    int loaded = engine_load(&e);
    if (loaded > 0) {
        pos = run_screen(&r, pos, end);
        if (engine_store(&e) < 0)
            pos = -1;
    }
    engine_release(&e);
    return loaded < 0 || pos < 0 ? NULL : PyLong_FromSsize_t(pos);
}

/* ------------------------------------------------------------------------ drop_aborted */

/* For each kind of str (characters of T): where the chain of aborted introducers that
 * starts with the ESC at d[i] ends (ESC then any of ESC, "[" ESC, "]" ESC, again and again:
 * each ESC but the last is cut short by the next and shows nothing); how long the text is
 * with each chain as one ESC; and that text, copied to out. */
#define DEFINE_DROP(NAME, T)                                                                 \
    static Py_ssize_t NAME##_chain_end(const T *d, Py_ssize_t i, Py_ssize_t n)               \
    {                                                                                        \
        Py_ssize_t j = i + 1;                                                                \
        for (;;) {                                                                           \
            /* A long run of ESC (a soup of them): 8 at a time in 1-byte text. */            \
            while (sizeof(T) == 1 && j + 8 <= n && memcmp(d + j, "\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b", 8) == 0) \
                j += 8;                                                                      \
            if (j < n && d[j] == 0x1b)                                                       \
                j++;                                                                         \
            else if (j + 1 < n && d[j + 1] == 0x1b && (d[j] == '[' || d[j] == ']'))          \
                j += 2;                                                                      \
            else                                                                             \
                return j;                                                                    \
        }                                                                                    \
    }                                                                                        \
    static Py_ssize_t NAME##_dropped_size(const T *d, Py_ssize_t n)                          \
    {                                                                                        \
        Py_ssize_t size = 0;                                                                 \
        for (Py_ssize_t i = 0; i < n; size++)                                                \
            i = d[i] == 0x1b ? NAME##_chain_end(d, i, n) : i + 1;                            \
        return size;                                                                         \
    }                                                                                        \
    static void NAME##_drop(const T *d, Py_ssize_t n, T *out)                                \
    {                                                                                        \
        for (Py_ssize_t i = 0, k = 0; i < n; k++) {                                          \
            out[k] = d[i];                                                                   \
            i = d[i] == 0x1b ? NAME##_chain_end(d, i, n) : i + 1;                            \
        }                                                                                    \
    }

DEFINE_DROP(ucs1, Py_UCS1)
DEFINE_DROP(ucs2, Py_UCS2)
DEFINE_DROP(ucs4, Py_UCS4)

/* `terminal._drop_aborted` (its twin): each chain of aborted introducers becomes one ESC,
 * in a pass that counts and one that copies. */
static PyObject *
drop_aborted(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "drop_aborted: text must be a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t size = kind == PyUnicode_1BYTE_KIND   ? ucs1_dropped_size(data, n)
                      : kind == PyUnicode_2BYTE_KIND ? ucs2_dropped_size(data, n)
                                                     : ucs4_dropped_size(data, n);
    if (size == n)
        return Py_NewRef(text);
    /* Only ESC, '[' and ']' go, so the characters that decide the kind all stay: the result
     * has the kind of the text. */
    PyObject *result = PyUnicode_New(size, PyUnicode_MAX_CHAR_VALUE(text));
    if (result == NULL)
        return NULL;
    if (kind == PyUnicode_1BYTE_KIND)
        ucs1_drop(data, n, PyUnicode_DATA(result));
    else if (kind == PyUnicode_2BYTE_KIND)
        ucs2_drop(data, n, PyUnicode_DATA(result));
    else
        ucs4_drop(data, n, PyUnicode_DATA(result));
    return result;
}

/* -------------------------------------------------------------------------- clean_text */

/* A character that `clean_text` drops: NUL (the controls that show nothing) or a C1
 * control (U+0080..U+009F). */
#define CLEANED_OUT(c) ((c) == 0 || ((c) >= 0x80 && (c) <= 0x9f))

/* For each kind of str (characters of T): the size of the cleaned text, its largest
 * character, and whether it drops or fills anything; then the cleaned text, into a str of
 * any kind. */
#define DEFINE_CLEAN(NAME, T)                                                                \
    static Py_ssize_t NAME##_cleaned_size(const T *d, Py_ssize_t n, Py_UCS4 *top,            \
                                          int *dropped, int *filled)                         \
    {                                                                                        \
        Py_ssize_t size = 0;                                                                 \
        for (Py_ssize_t i = 0; i < n; i++) {                                                 \
            Py_UCS4 c = d[i];                                                                \
            if (CLEANED_OUT(c)) {                                                            \
                *dropped = 1;                                                                \
                continue;                                                                    \
            }                                                                                \
            size++;                                                                          \
            *top = c > *top ? c : *top;                                                      \
            if (c >= 0x1100 && is_wide(c)) {                                                 \
                size++;                                                                      \
                *filled = 1;                                                                 \
            }                                                                                \
        }                                                                                    \
        return size;                                                                         \
    }                                                                                        \
    static void NAME##_clean(const T *d, Py_ssize_t n, int out_kind, void *out)              \
    {                                                                                        \
        for (Py_ssize_t i = 0, k = 0; i < n; i++) {                                          \
            Py_UCS4 c = d[i];                                                                \
            if (CLEANED_OUT(c))                                                              \
                continue;                                                                    \
            PyUnicode_WRITE(out_kind, out, k, c);                                            \
            k++;                                                                             \
            if (c >= 0x1100 && is_wide(c)) {                                                 \
                PyUnicode_WRITE(out_kind, out, k, FILL);                                     \
                k++;                                                                         \
            }                                                                                \
        }                                                                                    \
    }

DEFINE_CLEAN(ucs1, Py_UCS1)
DEFINE_CLEAN(ucs2, Py_UCS2)
DEFINE_CLEAN(ucs4, Py_UCS4)

/* What `Screen._feed_piece` does to decoded text that holds controls, before the tokenizer
 * (its twin: `terminal._clean_text_in_python`): NUL and C1 controls out, a filler after each
 * wide character in. Returns (text, whether a wide character was filled); two passes, one
 * new str (none when nothing changes). */
static PyObject *
clean_text(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "clean_text: text must be a str");
        return NULL;
    }
    if (!wide_bmp_ready)
        fill_wide_bmp();
    int kind = PyUnicode_KIND(text), dropped = 0, filled = 0;
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), size;
    Py_UCS4 top = 0;
    if (kind == PyUnicode_1BYTE_KIND)
        size = ucs1_cleaned_size(data, n, &top, &dropped, &filled);
    else if (kind == PyUnicode_2BYTE_KIND)
        size = ucs2_cleaned_size(data, n, &top, &dropped, &filled);
    else
        size = ucs4_cleaned_size(data, n, &top, &dropped, &filled);
    PyObject *result;
    if (!filled && !dropped) {
        result = Py_NewRef(text);
    } else {
        result = PyUnicode_New(size, top); /* the exact largest character: a canonical str */
        if (result == NULL)
            return NULL;
        int out_kind = PyUnicode_KIND(result);
        void *out = PyUnicode_DATA(result);
        if (kind == PyUnicode_1BYTE_KIND)
            ucs1_clean(data, n, out_kind, out);
        else if (kind == PyUnicode_2BYTE_KIND)
            ucs2_clean(data, n, out_kind, out);
        else
            ucs4_clean(data, n, out_kind, out);
    }
    return Py_BuildValue("(NO)", result, filled ? Py_True : Py_False);
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
    {"screen_run", screen_run, METH_VARARGS,
     "screen_run(screen, text, pos, span_type) -> int\n\n"
     "Screen._process's loop over text from pos in C (text, \\r, \\n, \\t, \\b, BEL, CAN, SUB,\n"
     "the short escapes), on the Screen's own state; returns where the first token it leaves\n"
     "to Python (CSI, OSC, ESC M, ESC c, an incomplete escape) starts, or len(text)."},
    {"drop_aborted", drop_aborted, METH_O,
     "drop_aborted(text) -> str\n\n"
     "text with each chain of aborted escape introducers (ESC followed by ESC, [ ESC or ] ESC,\n"
     "again and again) as one ESC: what terminal._drop_aborted does."},
    {"clean_text", clean_text, METH_O,
     "clean_text(text) -> (str, bool)\n\n"
     "text without NUL and C1 controls, a NUL filler after each wide character; and whether\n"
     "one was filled: what Screen._feed_piece does before the tokenizer."},
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

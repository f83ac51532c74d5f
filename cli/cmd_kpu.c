/* The MaixPy KPU commands: netinfo, fmap, yolo2, face-encode and face-compare. Each is one
 * library call (vm/kpu_info.c, vm/yolo2.c, vm/face.c) plus reading and printing; PNG writing
 * (libpng) lives here, outside the runtime core. */
#include <errno.h>
#include <jansson.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "detvm.h"
#include "io.h"

/* ---- argument helpers ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char **value;   /* an option taking a value */
    int *flag;            /* or a flag */
} option;

/* Parses argv into the options and up to max_pos positional arguments. */
static int parse_options(const char *cmd, int argc, char **argv, option *opts, int n_opts,
                         const char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int j = 0;
        while (j < n_opts && strcmp(s, opts[j].name) != 0)
            j++;
        if (j < n_opts && opts[j].value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "detvm %s: option %s needs a value (see detvm %s --help)\n",
                        cmd, s, cmd);
                return EXIT_INVALID;
            }
            *opts[j].value = argv[++i];
        } else if (j < n_opts) {
            *opts[j].flag = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "detvm %s: unknown option %s (see detvm %s --help)\n", cmd, s, cmd);
            return EXIT_INVALID;
        } else if (*n_pos < max_pos) {
            pos[(*n_pos)++] = s;
        } else {
            return usage_error(cmd, "too many arguments");
        }
    }
    return 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || errno || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

static int parse_float(const char *s, float *v)
{
    char *end;
    errno = 0;
    float x = strtof(s, &end);
    if (!*s || *end || errno || x != x)
        return -1;
    *v = x;
    return 0;
}

/* "a,b,c": up to cap numbers; returns how many, or -1. */
static int parse_float_list(const char *s, float *v, int cap)
{
    int n = 0;
    char buf[64];
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (n == cap || len == 0 || len >= sizeof buf)
            return -1;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (parse_float(buf, &v[n++]))
            return -1;
        s += len + (comma != NULL);
        if (comma && !*s)
            return -1;
    }
    return n;
}

static int parse_u32_list(const char *s, uint32_t *v, int want)
{
    float f[8];
    int n = parse_float_list(s, f, 8);
    if (n != want)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!(f[i] >= 1 && f[i] <= 16777216.0f) || f[i] != (float)(uint32_t)f[i])
            return -1;
        v[i] = (uint32_t)f[i];
    }
    return 0;
}

static int load_model(const char *path, uint8_t **bytes, detvm_module **m)
{
    args a;
    memset(&a, 0, sizeof a);
    a.model = path;
    return open_model(&a, bytes, m);
}

/* A JSON number, or null for a NaN or an infinity (which JSON cannot hold). */
static json_t *real(float v)
{
    return v == v && v - v == 0 ? json_real((double)v) : json_null();
}

/* ---- netinfo ------------------------------------------------------------------------------ */

const char netinfo_help[] =
    "usage: detvm netinfo MODEL [--json]\n"
    "MaixPy's kpu.netinfo for a kmodel (or a module compiled from one): one row per layer,\n"
    "numbered as in the file: index, type, then for KPU layers wi, hi, wo, ho (input and output\n"
    "width and height, the output after pooling), chi, cho (channels), dw (1: depthwise),\n"
    "kernel_type (0: 1x1, 1: 3x3), pool_type (the KPU's: 0 none, 1 max 2x2 s2, 2 mean 2x2 s2,\n"
    "3 max 4x4, 4 mean 4x4, 5/6 left/right-top 2x2, 7 left-top 4x4, 8 mean 2x2 s1, 9 max 2x2\n"
    "s1) and para_size (weight bytes per load); other layers show zeros there, as MaixPy. Then\n"
    "batches, the map the layer leaves in KPU RAM (n x ch x h x w, which detvm fmap reads), the\n"
    "constant bytes it reads and its instructions. --json prints the same as a JSON array.\n";

int cmd_netinfo(int argc, char **argv)
{
    int json = 0, n_pos = 0;
    const char *pos[1] = {NULL};
    option opts[] = {{"--json", NULL, &json}};
    int rc = parse_options("netinfo", argc, argv, opts, 1, pos, 1, &n_pos);
    if (rc)
        return rc;
    if (n_pos != 1)
        return usage_error("netinfo", "MODEL missing");
    uint8_t *bytes = NULL;
    detvm_module *m = NULL;
    if ((rc = load_model(pos[0], &bytes, &m)))
        return rc;
    uint32_t n = detvm_kpu_layer_count(m);
    json_t *rows = json_array();
    if (!json)
        printf("%5s  %-22s %5s %5s %5s %5s %5s %5s %3s %6s %5s %9s %7s %-18s %11s  %s\n", "index",
               "type", "wi", "hi", "wo", "ho", "chi", "cho", "dw", "kernel", "pool",
               "para_size", "batches", "fmap (n,ch,h,w)", "param bytes", "steps");
    for (uint32_t k = 0; k < n; k++) {
        detvm_kpu_layer l;
        detvm_error err = {0};
        if (detvm_kpu_netinfo(m, k, &l, &err)) {
            rc = fail(&err);
            break;
        }
        char fmap[64] = "-";
        if (l.has_fmap)
            snprintf(fmap, sizeof fmap, "%u,%u,%u,%u", l.fmap_n, l.fmap_ch, l.fmap_h, l.fmap_w);
        if (json) {
            json_t *row = json_pack(
                "{s:i, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, "
                "s:[i, i]}",
                "index", (int)l.index, "type", l.type, "kpu", l.is_kpu, "wi", (int)l.wi, "hi",
                (int)l.hi, "wo", (int)l.wo, "ho", (int)l.ho, "chi", (int)l.chi, "cho",
                (int)l.cho, "dw", (int)l.dw, "kernel_type", (int)l.kernel_type, "pool_type",
                (int)l.pool_type, "para_size", (int)l.para_size, "batches", (int)l.batches,
                "param_bytes", (json_int_t)l.param_bytes, "steps", (int)l.first_step,
                (int)l.last_step);
            json_object_set_new(row, "fmap",
                                l.has_fmap ? json_pack("[i, i, i, i]", (int)l.fmap_n,
                                                       (int)l.fmap_ch, (int)l.fmap_h,
                                                       (int)l.fmap_w)
                                           : json_null());
            json_array_append_new(rows, row);
        } else {
            printf("%5u  %-22s %5u %5u %5u %5u %5u %5u %3u %6u %5u %9u %7u %-18s %11llu  %u..%u\n",
                   l.index, l.type, l.wi, l.hi, l.wo, l.ho, l.chi, l.cho, l.dw, l.kernel_type,
                   l.pool_type, l.para_size, l.batches, fmap, (unsigned long long)l.param_bytes,
                   l.first_step, l.last_step);
        }
    }
    if (json && !rc)
        io_print_json(rows);
    else
        json_decref(rows);
    if (!json && !rc && n == 0)
        printf("(no kmodel layers: the model was not compiled from a kmodel)\n");
    detvm_module_free(m);
    free(bytes);
    return rc;
}

/* ---- fmap --------------------------------------------------------------------------------- */

const char fmap_help[] =
    "usage: detvm fmap MODEL -i INPUT --layer L (--png DIR | -o RAW) [--channel C]\n"
    "MaixPy's kpu.forward(task, img, L) then kpu.fmap(fmap, C): runs the kmodel on the raw\n"
    "bytes of INPUT up to layer L (its number in the file, as netinfo lists it; the layer must\n"
    "leave a map in KPU RAM: a KPU layer or an upload) and reads its output map from KPU RAM.\n"
    "--png DIR writes each channel (or only channel C) as an 8-bit grayscale PNG of w x h,\n"
    "DIR/ch<C>.png (DIR/b<B>_ch<C>.png when the layer computes several batches); DIR is\n"
    "created if needed. -o RAW writes the whole map (or channel C) as plain NCHW bytes.\n"
    "Prints the map's shape and the files written.\n";

/* One channel as an 8-bit grayscale PNG, written whole or not at all. */
static int write_png(const char *path, const uint8_t *pixels, uint32_t w, uint32_t h)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = w;
    image.height = h;
    image.format = PNG_FORMAT_GRAY;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, (png_int_32)w, NULL)) {
        fprintf(stderr, "detvm: %s: libpng: %s\n", path, image.message);
        return EXIT_RUNTIME;
    }
    void *mem = malloc(size + 1);
    if (!mem)
        return EXIT_RUNTIME;
    int rc = 0;
    if (!png_image_write_to_memory(&image, mem, &size, 0, pixels, (png_int_32)w, NULL)) {
        fprintf(stderr, "detvm: %s: libpng: %s\n", path, image.message);
        rc = EXIT_RUNTIME;
    } else if (io_write_file(path, mem, size)) {
        rc = EXIT_RUNTIME;
    }
    free(mem);
    return rc;
}

int cmd_fmap(int argc, char **argv)
{
    const char *input = NULL, *layer_text = NULL, *png = NULL, *raw = NULL, *channel_text = NULL;
    const char *pos[1] = {NULL};
    int n_pos = 0;
    option opts[] = {{"-i", &input, NULL},
                     {"--layer", &layer_text, NULL},
                     {"--png", &png, NULL},
                     {"-o", &raw, NULL},
                     {"--channel", &channel_text, NULL}};
    int rc = parse_options("fmap", argc, argv, opts, 5, pos, 1, &n_pos);
    if (rc)
        return rc;
    uint32_t layer = 0, channel = 0;
    if (n_pos != 1 || !input || !layer_text)
        return usage_error("fmap", "MODEL, -i INPUT and --layer L are required");
    if (!png && !raw)
        return usage_error("fmap", "--png DIR or -o RAW is required");
    if (parse_u32(layer_text, &layer))
        return usage_error("fmap", "--layer takes a layer number");
    if (channel_text && parse_u32(channel_text, &channel))
        return usage_error("fmap", "--channel takes a channel number");
    if (png && mkdir(png, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "detvm: %s: %s\n", png, strerror(errno));
        return EXIT_RUNTIME;
    }
    uint8_t *bytes = NULL, *in = NULL, *pixels = NULL, *all = NULL;
    size_t in_len = 0;
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    detvm_kpu_fmap map;
    if ((rc = load_model(pos[0], &bytes, &m)))
        return rc;
    if (detvm_read_file(input, &in, &in_len, &err) || detvm_session_new(m, &s, &err) ||
        detvm_kpu_forward(s, in, in_len, layer, &map, &err)) {
        rc = fail(&err);
        goto done;
    }
    if (channel_text && channel >= map.ch) {
        fprintf(stderr, "detvm fmap: channel %u out of range (layer %u has %u channels)\n",
                channel, layer, map.ch);
        rc = EXIT_INVALID;
        goto done;
    }
    uint64_t plane = (uint64_t)map.h * map.w;
    uint32_t c0 = channel_text ? channel : 0, c1 = channel_text ? channel + 1 : map.ch;
    uint64_t total = (uint64_t)map.n * (c1 - c0) * plane;
    pixels = malloc(plane + 1);
    all = raw ? malloc(total + 1) : NULL;
    if (!pixels || (raw && !all)) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    printf("layer %u: %u x %u x %u x %u (n, ch, h, w), instruction %u\n", layer, map.n, map.ch,
           map.h, map.w, map.step);
    uint32_t written = 0;
    uint64_t at = 0;
    for (uint32_t b = 0; b < map.n && !rc; b++)
        for (uint32_t c = c0; c < c1 && !rc; c++) {
            if (detvm_kpu_fmap_channel(&map, b, c, pixels, (size_t)plane, &err)) {
                rc = fail(&err);
                break;
            }
            if (all) {
                memcpy(all + at, pixels, (size_t)plane);
                at += plane;
            }
            if (png) {
                char path[4096];
                if (map.n > 1)
                    snprintf(path, sizeof path, "%s/b%u_ch%u.png", png, b, c);
                else
                    snprintf(path, sizeof path, "%s/ch%u.png", png, c);
                rc = write_png(path, pixels, map.w, map.h);
                written += !rc;
            }
        }
    if (!rc && png)
        printf("wrote %u PNG file%s in %s\n", written, written == 1 ? "" : "s", png);
    if (!rc && raw) {
        if (io_write_file(raw, all, (size_t)total))
            rc = EXIT_RUNTIME;
        else
            printf("wrote %llu bytes to %s\n", (unsigned long long)total, raw);
    }
done:
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
    free(in);
    free(pixels);
    free(all);
    return rc;
}

/* ---- yolo2 -------------------------------------------------------------------------------- */

const char yolo2_help[] =
    "usage: detvm yolo2 MODEL -i INPUT --anchors W,H,... [options]\n"
    "       detvm yolo2 [MODEL] --from-output FILE --anchors W,H,... [options]\n"
    "MaixPy's kpu.init_yolo2 / run_yolo2: YOLOv2 region decoding of a model's float output\n"
    "(channels = anchors x (5 + classes), h x w, CHW), deterministic: the same detections and\n"
    "the same bits on every machine (the arithmetic and tie-breaks are in docs/kmodel.md).\n"
    "MODEL -i INPUT runs the model; --from-output FILE decodes a raw little-endian float32\n"
    "output instead (MODEL, if given, is only read for the shapes).\n"
    "  --anchors W,H,...   the anchor sizes in grid cells, a pair per anchor (required)\n"
    "  --threshold T       a class prob must exceed T (0..1; default 0.5)\n"
    "  --nms N             IoU above which a lesser box of the same class is dropped (0..1;\n"
    "                      default 0.2, the Kendryte example's)\n"
    "  --classes K         the class count (default: channels / anchors - 5; checked)\n"
    "  --output K          which model output to decode (default 0)\n"
    "  --shape W,H,CH      the output map, as MaixPy's kpu.set_outputs (default: the output's\n"
    "                      own shape, else the KPU layer whose map has as many elements)\n"
    "  --image W,H         the network input size for pixel boxes (default: the model's input)\n"
    "  --labels voc|FILE   class names: the 20 VOC classes, or one name per line\n"
    "  --json              print JSON\n"
    "Prints one object per line, in box order (MaixPy's): class, prob, the box's pixel corners\n"
    "and MaixPy's whole-pixel rect (x, y, w, h).\n";

static const char *const voc_labels[20] = {
    "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",         "car",
    "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",       "motorbike",
    "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};

typedef struct {
    char **names;
    uint32_t n;
    char *text;
} labels;

static int load_labels(const char *spec, labels *l)
{
    memset(l, 0, sizeof *l);
    if (!spec)
        return 0;
    if (strcmp(spec, "voc") == 0) {
        l->names = (char **)(void *)voc_labels;
        l->n = 20;
        return 0;
    }
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_read_file(spec, (uint8_t **)&l->text, &len, &err))
        return fail(&err);
    uint32_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += l->text[i] == '\n';
    l->names = calloc(lines, sizeof *l->names);
    if (!l->names) {
        free(l->text);
        l->text = NULL;
        return EXIT_RUNTIME;
    }
    for (char *p = l->text; p && *p && l->n < lines;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        size_t k = strlen(p);
        if (k && p[k - 1] == '\r')
            p[k - 1] = 0;
        l->names[l->n++] = p;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

static void free_labels(labels *l)
{
    if (l->text)
        free(l->names);
    free(l->text);
}

/* The output map's shape when --shape is not given: the output's own (ch, h, w) when it has
 * three or more dimensions, else the last KPU layer whose map has as many elements. */
static int shape_from_model(const detvm_module *m, uint32_t k, uint64_t count, uint32_t whc[3])
{
    detvm_tensor_desc t;
    detvm_error err = {0};
    if (detvm_module_tensor(m, detvm_module_output(m, k), &t, &err) == 0 && t.ndim >= 3) {
        uint64_t lead = 1;
        for (uint32_t d = 0; d + 3 < t.ndim; d++)
            lead *= t.dim[d];
        if (lead == 1) {
            whc[0] = t.dim[t.ndim - 1], whc[1] = t.dim[t.ndim - 2], whc[2] = t.dim[t.ndim - 3];
            return 0;
        }
    }
    int found = 0;
    uint32_t n = detvm_kpu_layer_count(m);
    for (uint32_t i = 0; i < n; i++) {
        detvm_kpu_layer l;
        if (detvm_kpu_netinfo(m, i, &l, &err) == 0 && l.is_kpu &&
            (uint64_t)l.wo * l.ho * l.cho == count) {
            whc[0] = l.wo, whc[1] = l.ho, whc[2] = l.cho;
            found = 1;
        }
    }
    return found ? 0 : -1;
}

static int image_from_model(const detvm_module *m, uint32_t wh[2])
{
    detvm_tensor_desc t;
    detvm_error err = {0};
    if (detvm_module_tensor(m, detvm_module_input(m), &t, &err) || t.ndim < 2)
        return -1;
    wh[0] = t.dim[t.ndim - 1], wh[1] = t.dim[t.ndim - 2];
    return 0;
}

/* Runs the model and copies output k, seen as w x h x ch (detvm_session_output_view), into a
 * float array. */
static int run_for_output(const detvm_module *m, const char *input, uint32_t k,
                          const uint32_t whc[3], float **out, uint64_t *count)
{
    detvm_io_desc io;
    detvm_module_info info;
    detvm_error err = {0};
    detvm_session *s = NULL;
    uint8_t *in = NULL, *buf = NULL;
    size_t in_len = 0;
    int rc = 0;
    detvm_module_get_info(m, &info);
    if (detvm_module_io(m, 1, k, &io, &err))
        return fail(&err);
    if (io.dtype != DETVM_DTYPE_FLOAT32) {
        fprintf(stderr, "detvm yolo2: output %u is not float32\n", k);
        return EXIT_INVALID;
    }
    buf = malloc(info.output_len + 1);
    detvm_tensor_view view;
    if (!buf) {
        rc = EXIT_RUNTIME;
    } else if (detvm_read_file(input, &in, &in_len, &err) ||
               detvm_session_new(m, &s, &err) ||
               detvm_run(s, in, in_len, buf, info.output_len, &err) ||
               detvm_session_output_view(s, k, whc[0], whc[1], whc[2], &view, &err)) {
        rc = fail(&err);
    } else {
        *out = malloc(view.count * sizeof **out + 1);
        if (!*out) {
            rc = EXIT_RUNTIME;
        } else {
            for (uint64_t i = 0; i < view.count; i++) {
                uint32_t bits = (uint32_t)view.data[i];
                memcpy(&(*out)[i], &bits, sizeof bits);
            }
            *count = view.count;
        }
    }
    detvm_session_free(s);
    free(in);
    free(buf);
    return rc;
}

static int read_float_file(const char *path, float **out, uint64_t *count)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_read_file(path, &bytes, &len, &err))
        return fail(&err);
    if (len == 0 || len % 4) {
        fprintf(stderr, "detvm: %s: %zu bytes is not a whole number of float32 values\n", path,
                len);
        free(bytes);
        return EXIT_INVALID;
    }
    *out = malloc(len + 1);
    if (!*out) {
        free(bytes);
        return EXIT_RUNTIME;
    }
    for (size_t i = 0; i < len / 4; i++) {
        uint32_t bits = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                        (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
        memcpy(&(*out)[i], &bits, sizeof bits);
    }
    *count = len / 4;
    free(bytes);
    return 0;
}

int cmd_yolo2(int argc, char **argv)
{
    const char *input = NULL, *from = NULL, *anchors_text = NULL, *threshold_text = NULL,
               *nms_text = NULL, *classes_text = NULL, *output_text = NULL, *shape_text = NULL,
               *image_text = NULL, *labels_text = NULL;
    int json = 0, n_pos = 0;
    const char *pos[1] = {NULL};
    option opts[] = {{"-i", &input, NULL},
                     {"--from-output", &from, NULL},
                     {"--anchors", &anchors_text, NULL},
                     {"--threshold", &threshold_text, NULL},
                     {"--nms", &nms_text, NULL},
                     {"--classes", &classes_text, NULL},
                     {"--output", &output_text, NULL},
                     {"--shape", &shape_text, NULL},
                     {"--image", &image_text, NULL},
                     {"--labels", &labels_text, NULL},
                     {"--json", NULL, &json}};
    int rc = parse_options("yolo2", argc, argv, opts, 11, pos, 1, &n_pos);
    if (rc)
        return rc;
    if ((input != NULL) == (from != NULL))
        return usage_error("yolo2", "give either MODEL -i INPUT or --from-output FILE");
    if (input && n_pos != 1)
        return usage_error("yolo2", "-i INPUT needs MODEL");
    float anchors[256], threshold = 0.5f, nms = 0.2f;
    int n_anchor_values = anchors_text ? parse_float_list(anchors_text, anchors, 256) : -1;
    if (n_anchor_values < 2 || n_anchor_values % 2)
        return usage_error("yolo2", "--anchors takes pairs W,H,... of numbers (at most 128)");
    uint32_t classes = 0, k = 0, whc[3] = {0, 0, 0}, image[2] = {0, 0};
    if (threshold_text && parse_float(threshold_text, &threshold))
        return usage_error("yolo2", "--threshold takes a number");
    if (nms_text && parse_float(nms_text, &nms))
        return usage_error("yolo2", "--nms takes a number");
    if (classes_text && (parse_u32(classes_text, &classes) || classes == 0))
        return usage_error("yolo2", "--classes takes a positive count");
    if (output_text && parse_u32(output_text, &k))
        return usage_error("yolo2", "--output takes an output index");
    if (shape_text && parse_u32_list(shape_text, whc, 3))
        return usage_error("yolo2", "--shape takes W,H,CH");
    if (image_text && parse_u32_list(image_text, image, 2))
        return usage_error("yolo2", "--image takes W,H");
    labels names;
    if ((rc = load_labels(labels_text, &names)))
        return rc;

    uint8_t *bytes = NULL;
    detvm_module *m = NULL;
    float *out = NULL;
    uint64_t count = 0;
    void *work = NULL;
    detvm_yolo2_object *objs = NULL;
    detvm_error err = {0};
    detvm_yolo2_params p;
    uint32_t n_obj = 0, cap = 0;
    json_t *list = NULL;
    if (n_pos == 1 && (rc = load_model(pos[0], &bytes, &m)))
        goto done;
    detvm_module_info info;
    if (m && (detvm_module_get_info(m, &info), k >= info.n_outputs)) {
        fprintf(stderr, "detvm yolo2: output %u out of range\n", k);
        rc = EXIT_INVALID;
        goto done;
    }
    if (from && (rc = read_float_file(from, &out, &count)))
        goto done;
    if (!shape_text && m) {
        detvm_io_desc io;
        detvm_module_io(m, 1, k, &io, &err);
        if (shape_from_model(m, k, io.count, whc)) {
            rc = usage_error("yolo2", "the output map's shape is unknown: give --shape W,H,CH");
            goto done;
        }
    }
    if (!whc[0]) {
        rc = usage_error("yolo2", "--from-output without MODEL needs --shape W,H,CH");
        goto done;
    }
    if (!image_text && (!m || image_from_model(m, image))) {
        rc = usage_error("yolo2", "the input size is unknown: give --image W,H");
        goto done;
    }
    if (input && (rc = run_for_output(m, input, k, whc, &out, &count)))
        goto done;

    p = (detvm_yolo2_params){whc[0], whc[1], whc[2], (uint32_t)n_anchor_values / 2, anchors,
                             classes, threshold, nms, image[0], image[1]};
    uint64_t need = detvm_yolo2_workspace_bytes(&p);
    cap = (uint64_t)whc[0] * whc[1] * ((uint32_t)n_anchor_values / 2) > (1u << 24)
              ? (1u << 24)
              : whc[0] * whc[1] * ((uint32_t)n_anchor_values / 2);
    work = malloc(need ? need : 1);
    objs = calloc(cap ? cap : 1, sizeof *objs);
    if (!work || !objs) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (detvm_yolo2_decode(&p, out, count, work, need, objs, cap, &n_obj, &err)) {
        rc = fail(&err);
        goto done;
    }
    list = json_array();
    for (uint32_t i = 0; i < n_obj && i < cap; i++) {
        const detvm_yolo2_object *o = &objs[i];
        const char *name = o->classid < names.n ? names.names[o->classid] : NULL;
        if (json) {
            json_t *j = json_pack("{s:i, s:i, s:o, s:[o, o, o, o], s:[o, o, o, o], s:[i, i, i, i]}",
                                  "index", (int)o->index, "classid", (int)o->classid, "prob",
                                  real(o->prob), "box", real(o->x), real(o->y), real(o->w),
                                  real(o->h), "corners", real(o->x1), real(o->y1), real(o->x2),
                                  real(o->y2), "rect", o->rect[0], o->rect[1], o->rect[2],
                                  o->rect[3]);
            if (name)
                json_object_set_new(j, "class", json_string(name));
            json_array_append_new(list, j);
        } else {
            char cls[48];
            if (name)
                snprintf(cls, sizeof cls, "%s", name);
            else
                snprintf(cls, sizeof cls, "class %u", o->classid);
            printf("%-12s %.6f  (%.2f, %.2f)-(%.2f, %.2f)  rect %d %d %d %d  box %u\n", cls,
                   (double)o->prob, (double)o->x1, (double)o->y1, (double)o->x2,
                   (double)o->y2, o->rect[0], o->rect[1], o->rect[2], o->rect[3], o->index);
        }
    }
    if (json)
        io_print_json(json_pack("{s:i, s:o}", "count", (int)n_obj, "objects", list));
    else
        json_decref(list);
    list = NULL;
    if (!json && n_obj == 0)
        printf("no objects above threshold %g\n", (double)threshold);
done:
    free_labels(&names);
    detvm_module_free(m);
    free(bytes);
    free(out);
    free(work);
    free(objs);
    return rc;
}

/* ---- face-encode, face-compare -------------------------------------------------------------- */

const char face_encode_help[] =
    "usage: detvm face-encode FEATURE -o CODE\n"
    "MaixPy's kpu.face_encode: FEATURE is a raw little-endian float32 vector (a face feature,\n"
    "1..65536 values); CODE gets one byte per value, min(max(x, -0.25), 0.25) * 512 truncated,\n"
    "as MaixPy stores it (x >= 0.25 gives -128 there, and here).\n";

int cmd_face_encode(int argc, char **argv)
{
    const char *out_path = NULL, *pos[1] = {NULL};
    int n_pos = 0;
    option opts[] = {{"-o", &out_path, NULL}};
    int rc = parse_options("face-encode", argc, argv, opts, 1, pos, 1, &n_pos);
    if (rc)
        return rc;
    if (n_pos != 1 || !out_path)
        return usage_error("face-encode", "FEATURE and -o CODE are required");
    float *feature = NULL;
    uint64_t n = 0;
    if ((rc = read_float_file(pos[0], &feature, &n)))
        return rc;
    int8_t *code = malloc(n + 1);
    detvm_error err = {0};
    if (!code)
        rc = EXIT_RUNTIME;
    else if (n > UINT32_MAX || detvm_face_encode(feature, (uint32_t)n, code, &err))
        rc = n > UINT32_MAX ? usage_error("face-encode", "feature too long") : fail(&err);
    else if (io_write_file(out_path, code, (size_t)n))
        rc = EXIT_RUNTIME;
    free(feature);
    free(code);
    return rc;
}

const char face_compare_help[] =
    "usage: detvm face-compare A B [--json]\n"
    "MaixPy's kpu.face_compare: A and B are codes from face-encode (or MaixPy), of the same\n"
    "length; prints their similarity, 50 + 50 * cosine (0..100), computed exactly as MaixPy\n"
    "does (nan when a code is all zeros).\n";

int cmd_face_compare(int argc, char **argv)
{
    int json = 0, n_pos = 0;
    const char *pos[2] = {NULL, NULL};
    option opts[] = {{"--json", NULL, &json}};
    int rc = parse_options("face-compare", argc, argv, opts, 1, pos, 2, &n_pos);
    if (rc)
        return rc;
    if (n_pos != 2)
        return usage_error("face-compare", "A and B are required");
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    detvm_error err = {0};
    float score = 0;
    if (detvm_read_file(pos[0], &a, &la, &err) || detvm_read_file(pos[1], &b, &lb, &err)) {
        rc = fail(&err);
    } else if (la != lb) {
        fprintf(stderr, "detvm face-compare: the codes differ in length (%zu and %zu bytes)\n",
                la, lb);
        rc = EXIT_INVALID;
    } else if (la > UINT32_MAX ||
               detvm_face_compare((const int8_t *)a, (const int8_t *)b, (uint32_t)la, &score,
                                  &err)) {
        rc = la > UINT32_MAX ? usage_error("face-compare", "codes too long") : fail(&err);
    } else if (json) {
        io_print_json(json_pack("{s:o, s:i}", "score", real(score), "length", (int)la));
    } else {
        printf("%.6f\n", (double)score);
    }
    free(a);
    free(b);
    return rc;
}

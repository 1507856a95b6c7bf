/* png_io.c - see png_io.h. libpng reports errors by longjmp to the
 * png_jmpbuf of the read/write struct: every resource a longjmp could leak
 * is held in a volatile local that the error branch frees. */
#include "data/png_io.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

typedef struct {
    char msg[256];
} png_errbox;

static void on_error(png_structp p, png_const_charp m)
{
    png_errbox *b = png_get_error_ptr(p);
    if (b) snprintf(b->msg, sizeof b->msg, "%s", m);
    png_longjmp(p, 1);
}
static void on_warning(png_structp p, png_const_charp m)
{
    (void)p;
    (void)m;
}

fke_status fke_png_read(const char *path, int *w, int *h, uint8_t **rgb, fke_err *e)
{
    *rgb = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return fke_fail(e, FKE_ERR_IO, "%s: no such file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return fke_fail(e, FKE_ERR_IO, "%s: cannot open", path);
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: not a PNG file (bad signature)", path);
    }
    png_errbox box = {""};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &box, on_error, on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_read_struct(&p, NULL, NULL);
        fclose(f);
        return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory for libpng", path);
    }
    uint8_t *volatile out = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(p))) {
        free(out);
        free(rows);
        png_destroy_read_struct(&p, &info, NULL);
        fclose(f);
        return fke_fail(e, FKE_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", path,
                        box.msg[0] ? box.msg : "libpng error");
    }
    png_init_io(p, f);
    png_set_sig_bytes(p, 8);
    png_set_user_limits(p, 16384, 16384);
    png_read_info(p, info);
    png_uint_32 W = png_get_image_width(p, info), H = png_get_image_height(p, info);
    int ct = png_get_color_type(p, info), bd = png_get_bit_depth(p, info);
    if (bd == 16) png_set_strip_16(p);
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p);
    if (ct == PNG_COLOR_TYPE_GRAY && bd < 8) png_set_expand_gray_1_2_4_to_8(p);
    if (png_get_valid(p, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(p);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(p);
    png_color_16 black = {0, 0, 0, 0, 0};
    png_set_background(p, &black, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0); /* alpha over black */
    png_read_update_info(p, info);
    if (png_get_rowbytes(p, info) != (size_t)W * 3) png_error(p, "unsupported pixel layout");
    out = malloc((size_t)W * H * 3);
    rows = malloc(H * sizeof *rows);
    if (!out || !rows) png_error(p, "no memory");
    for (png_uint_32 y = 0; y < H; y++) rows[y] = out + (size_t)y * W * 3;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    free(rows);
    png_destroy_read_struct(&p, &info, NULL);
    fclose(f);
    *w = (int)W;
    *h = (int)H;
    *rgb = out;
    return FKE_OK;
}

fke_status fke_png_write(const char *path, int w, int h, const uint8_t *rgb, fke_err *e)
{
    if (w < 1 || h < 1 || !rgb) return fke_fail(e, FKE_ERR_ARG, "%s: empty picture", path);
    fke_atomic a;
    FKE_TRY(fke_atomic_open(&a, path, e));
    png_errbox box = {""};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &box, on_error, on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    png_bytep *volatile rows = NULL;
    if (!p || !info || setjmp(png_jmpbuf(p))) {
        free(rows);
        png_destroy_write_struct(&p, &info);
        fke_atomic_abort(&a);
        return fke_fail(e, FKE_ERR_IO, "%s: writing the PNG failed (%s)", path,
                        box.msg[0] ? box.msg : "libpng error");
    }
    png_init_io(p, a.f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    rows = malloc((size_t)h * sizeof *rows);
    if (!rows) png_error(p, "no memory");
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(rgb + (size_t)y * w * 3);
    png_write_image(p, rows);
    png_write_end(p, NULL);
    free(rows);
    png_destroy_write_struct(&p, &info);
    return fke_atomic_commit(&a, "PNG", e);
}


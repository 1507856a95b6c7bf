/* test_selfdesc.c - checkpoints say what they are (model/checkpoint.h,
 * docs/checkpoint.md): a checkpoint of `fke train` carries the fke version,
 * the training data's fingerprint (file, hash, counts), the tokenizer and
 * crop rule besides the names and preprocessing, each equal to what the
 * test computes from the data itself; a weights-only file (parameters only,
 * as tools/torch_to_fke.py writes) starts a run through init_from, and
 * fke eval, extract and export refuse it with a message that says what the
 * file is and how to use it. */
#include <stdio.h>
#include <string.h>

#include "fixtures.h"
#include "core/file.h"
#include "core/version.h"
#include "data/dataset.h"
#include "model/model_io.h"

static char out[8192];

int main(void)
{
    if (!fke_test_tmpdir("selfdesc")) return 1;
    const char *B = fke_test_build_dir(), *data = fke_test_path("d.h5"), *run = fke_test_path("run");
    int rc = fke_test_sh(out, sizeof out, "%s/fke data synth --out %s --posts 40 --seed 3", B, data);
    FKE_CHECK(rc == 0, "synth: %s", out);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"preset\": \"fke-small\", \"chans\": [4, 4, 8], \"F\": 8, \"H\": 8, \"H2\": 8, "
             "\"M\": 8, \"D\": 8, \"Co\": 4, \"T\": 8, \"train_data\": \"%s\", \"out_dir\": \"%s\", "
             "\"steps\": 2, \"threads\": 1, \"eval_every\": 1000, \"log_every\": 1000}",
             data, run);
    FKE_CHECK(fke_test_write_text(fke_test_path("c.json"), cfg), "config");
    rc = fke_test_sh(out, sizeof out, "%s/fke train %s --quiet", B, fke_test_path("c.json"));
    FKE_CHECK(rc == 0, "train: %s", out);
    const char *ckpt = fke_test_path("run/last.h5");

    /* what the checkpoint says against the data itself */
    fke_err e = {{0}};
    fke_ckpt_names nm;
    int found = 0;
    FKE_CHECK(fke_checkpoint_read_names(ckpt, &nm, &found, &e) == FKE_OK && found, "names: %s", e.msg);
    fke_dataset d;
    memset(&d, 0, sizeof d);
    FKE_CHECK(fke_dataset_load(&d, data, &e) == FKE_OK, "load: %s", e.msg);
    long long garments = 0, clean = 0;
    for (int i = 0; i < d.N; i++) garments += d.n_garments[i], clean += d.clean[i] != 0;
    char hash[32] = "";
    FKE_CHECK(fke_file_hash(data, hash, sizeof hash, NULL, &e) == FKE_OK, "hash: %s", e.msg);
    FKE_CHECK(!strcmp(nm.data_file, data), "data_file '%s', want '%s'", nm.data_file, data);
    FKE_CHECK(!strcmp(nm.data_hash, hash) && !strncmp(hash, "fnv1a64:", 8) && strlen(hash) == 24,
              "data_hash '%s', the file's '%s'", nm.data_hash, hash);
    FKE_CHECK(nm.data_posts == d.N && nm.data_garments == garments && nm.data_clean == clean,
              "counts %lld %lld %lld, the data's %d %lld %lld", nm.data_posts, nm.data_garments,
              nm.data_clean, d.N, garments, clean);
    FKE_CHECK(!strcmp(nm.tokenizer, "fke-text-1") && !strcmp(nm.crop_rule, "resize"),
              "tokenizer '%s', crop rule '%s'", nm.tokenizer, nm.crop_rule);
    FKE_CHECK(!strcmp(nm.version, fke_version()), "version '%s', this build '%s'", nm.version,
              fke_version());
    FKE_CHECK(nm.vocab && nm.V == d.V && nm.occ && nm.n_occ == d.n_occ && nm.img == d.img &&
                  nm.crop == d.crop && nm.pixel_std > 0,
              "names and preprocessing");
    /* a changed file no longer matches its fingerprint */
    char hash2[32] = "";
    fke_test_copy_prefix(data, fke_test_path("cut.h5"), 1000);
    FKE_CHECK(fke_file_hash(fke_test_path("cut.h5"), hash2, sizeof hash2, NULL, &e) == FKE_OK &&
                  strcmp(hash2, hash),
              "a cut copy hashes the same: %s", hash2);
    fke_ckpt_names_free(&nm);

    /* a weights-only file: the parameters and nothing else */
    fke_model m;
    const char *w = fke_test_path("weights.h5");
    FKE_CHECK(fke_model_load(&m, ckpt, 0, NULL, &e) == FKE_OK, "load: %s", e.msg);
    FKE_CHECK(fke_checkpoint_save(w, &m.P, NULL, &e) == FKE_OK, "save: %s", e.msg);
    fke_model_free(&m);
    static const char *const cmds[] = {"eval %s %s", "extract %s %s", "export %s --out %s.onnx"};
    for (int i = 0; i < 3; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, cmds[i], w, i == 2 ? w : data);
        rc = fke_test_sh(out, sizeof out, "%s/fke %s", B, cmd);
        char want[700];
        snprintf(want, sizeof want, "--set init_from=%s", w);
        FKE_CHECK(rc == 1 && strstr(out, w) && strstr(out, "weights-only file") && strstr(out, want),
                  "fke %s -> %d: %s", cmd, rc, out);
    }
    if (fke_test_sh(out, sizeof out, "/usr/bin/python3 -c 'import torch, h5py' >/dev/null") == 0) {
        rc = fke_test_sh(out, sizeof out, "/usr/bin/python3 tools/fke_to_torch.py %s %s", w,
                         fke_test_path("w.pt"));
        FKE_CHECK(rc != 0 && strstr(out, "weights-only file"), "fke_to_torch.py on %s -> %d: %s", w,
                  rc, out);
    }
    rc = fke_test_sh(out, sizeof out, "%s/fke train %s --quiet --set init_from=%s --set out_dir=%s",
                     B, fke_test_path("c.json"), w, fke_test_path("run2"));
    FKE_CHECK(rc == 0, "train from the weights-only file: %s", out);
    fke_dataset_free(&d);
    return fke_test_finish("selfdesc");
}

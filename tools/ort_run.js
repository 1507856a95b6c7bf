// tools/ort_run.js - runs an ONNX model that `fke export` wrote in ONNX
// Runtime (the npm package onnxruntime-node; tools/ort_install.sh puts it in
// BUILD/ort/node_modules, which NODE_PATH must name).
//
//   NODE_PATH=build/ort/node_modules node tools/ort_run.js --info MODEL.onnx
//       prints the inputs, outputs and the fke.* metadata of the model
//   NODE_PATH=build/ort/node_modules node tools/ort_run.js CASE.json
//       runs the model on the inputs CASE.json names and writes its outputs
//       (tests/test_onnx.c writes CASE.json and compares the outputs):
//       {"model": "m.onnx", "in": "in.bin", "out": "out.bin",
//        "inputs": [{"name": "image", "type": "float32"|"int64", "dims": [...],
//                    "offset": BYTES}, ...],
//        "outputs": ["occasion", "category", ...]}
//       out.bin holds the named outputs' float32 values one after the other.
'use strict';
const fs = require('fs');
let ort;
try {
    ort = require('onnxruntime-node');
} catch (err) {
    console.error('ort_run.js: cannot load onnxruntime-node (' + err.message.split('\n')[0] +
                  '); run tools/ort_install.sh BUILD and set NODE_PATH=BUILD/ort/node_modules');
    process.exit(2);
}

async function info(path) {
    const s = await ort.InferenceSession.create(path);
    console.log('onnxruntime-node ' + ort.env.versions.node);
    console.log('inputs: ' + s.inputNames.join(', '));
    console.log('outputs: ' + s.outputNames.join(', '));
    // the metadata is not in the node API: read it from the model with the
    // fke.* keys' own bytes (key and value are protobuf strings)
    const buf = fs.readFileSync(path);
    let at = 0;
    for (;;) {
        at = buf.indexOf('fke.', at);
        if (at < 0) break;
        const end = buf.indexOf(0x12, at); // the value's field tag follows the key
        const key = buf.toString('latin1', at, end);
        if (/^fke\.[a-z]+$/.test(key)) {
            let len = 0, shift = 0, p = end + 1, b;
            do { b = buf[p++]; len += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
            const v = buf.toString('utf8', p, p + len);
            console.log(key + ': ' + (v.length > 4000 ? v.slice(0, 200) + " ... (" + v.length + " characters)" : v));
            at = p + len;
        } else {
            at += 4;
        }
    }
}

async function run(casePath) {
    const c = JSON.parse(fs.readFileSync(casePath, 'utf8'));
    const bin = fs.readFileSync(c.in);
    const feeds = {};
    for (const i of c.inputs) {
        const n = i.dims.reduce((a, b) => a * b, 1);
        const bytes = bin.buffer.slice(bin.byteOffset + i.offset,
                                       bin.byteOffset + i.offset + n * (i.type === 'int64' ? 8 : 4));
        const data = i.type === 'int64' ? new BigInt64Array(bytes) : new Float32Array(bytes);
        feeds[i.name] = new ort.Tensor(i.type, data, i.dims);
    }
    const s = await ort.InferenceSession.create(c.model, {intraOpNumThreads: 1,
                                                            interOpNumThreads: 1});
    const t0 = Date.now();
    const r = await s.run(feeds);
    const ms = Date.now() - t0;
    const parts = [];
    for (const name of c.outputs) {
        if (!(name in r)) throw new Error('the model has no output ' + name);
        const t = r[name];
        parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        console.log('output ' + name + ' [' + t.dims.join(', ') + ']');
    }
    fs.writeFileSync(c.out, Buffer.concat(parts));
    console.log('onnxruntime-node ' + ort.env.versions.node + ': ' + c.model + ' ran in ' + ms +
                ' ms');
}

const args = process.argv.slice(2);
const job = args[0] === '--info' ? info(args[1]) : run(args[0]);
job.catch((err) => {
    console.error('ort_run.js: ' + err.message);
    process.exit(1);
});

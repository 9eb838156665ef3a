{
  "targets": [
    {
      "target_name": "sphereface_native",
      "sources": ["csrc/addon.cc", "csrc/peak.cc", "csrc/pooling.cc", "csrc/margin_softmax.cc", "csrc/crops.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}

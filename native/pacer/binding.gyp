{
  "targets": [
    {
      "target_name": "rtpcast_pacer",
      "sources": ["src/pacer.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": ["-lpthread"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}

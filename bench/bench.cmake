# Benchmarks (bench/run.sh, issue 7): small programs that measure this
# machine's limits (ZeroMQ, LMDB, fsync, the codec) and a client that
# times queries and visibility against the running services. Built with
# everything else; bench/run.sh builds them in Release into build-bench.
foreach(name bench_zmq bench_fsync)
  add_executable(${name} bench/${name}.c)
endforeach()
target_link_libraries(bench_zmq PRIVATE PkgConfig::ZMQ)
add_executable(bench_lmdb bench/bench_lmdb.c)
target_link_libraries(bench_lmdb PRIVATE kaohe_infra)
add_executable(bench_codec bench/bench_codec.c)
target_link_libraries(bench_codec PRIVATE kaohe_infra)
# The client reuses the CLI's CURVE client set-up (cli/client.c).
add_executable(bench_client bench/bench_client.c cli/client.c)
target_include_directories(bench_client PRIVATE ${CMAKE_SOURCE_DIR}/cli)
target_link_libraries(bench_client PRIVATE kaohe_infra)

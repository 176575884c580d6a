# Compiler cache for Synapse's own targets (SYNAPSE_CCACHE, on by default when Synapse is
# the main project and ccache is installed; ci/setup.sh installs it).
#
# LibTorch's headers cost ~20 s per file that includes them, and CI builds the project
# several times over (the main build, the add_subdirectory consumer, the sanitizer build):
# ccache turns every repeat into a cache hit. Two settings make hits travel:
#  - CCACHE_BASEDIR is the source root, so absolute paths inside it are hashed relative to
#    the build directory: a clone in another folder (as CI makes) hits the cache that a
#    build of the same commit in this folder filled;
#  - no precompiled header: CMake's PCH adds a per-build-directory `-include` and a .gch
#    whose bytes differ between build directories, which would make every file that uses
#    it miss. Without ccache the PCH stays (SYNAPSE_PCH).
# A user's own CMAKE_CXX_COMPILER_LAUNCHER always wins.
if(NOT DEFINED SYNAPSE_CCACHE_DEFAULT)
  set(SYNAPSE_CCACHE_DEFAULT ${SYNAPSE_MAIN_PROJECT})
endif()
option(SYNAPSE_CCACHE "Compile Synapse's targets through ccache when it is installed" ${SYNAPSE_CCACHE_DEFAULT})

# The folder whose paths are hashed relative to the build directory: the repository root
# (the fuzz project, one level down, sets it to its parent).
if(NOT SYNAPSE_CCACHE_BASEDIR)
  set(SYNAPSE_CCACHE_BASEDIR ${PROJECT_SOURCE_DIR})
endif()
set(SYNAPSE_COMPILER_LAUNCHER "")
if(SYNAPSE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(SYNAPSE_CCACHE_PROGRAM ccache)
  if(SYNAPSE_CCACHE_PROGRAM)
    set(SYNAPSE_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${SYNAPSE_CCACHE_BASEDIR} ${SYNAPSE_CCACHE_PROGRAM})
    # Directory scope: Synapse's targets (and its tests, examples, benchmarks), never the
    # targets of a project that pulls Synapse in with add_subdirectory.
    set(CMAKE_CXX_COMPILER_LAUNCHER ${SYNAPSE_COMPILER_LAUNCHER})
  endif()
endif()

if(SYNAPSE_COMPILER_LAUNCHER OR CMAKE_CXX_COMPILER_LAUNCHER)
  set(synapse_pch_default OFF)
else()
  set(synapse_pch_default ON)
endif()
option(SYNAPSE_PCH "Precompile LibTorch's headers for the engine library" ${synapse_pch_default})

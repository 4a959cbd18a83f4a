# Installation in FHS places and the Debian package (CPack):
#   bin/cardano-tracer, bin/trace-forwarder       the daemon and the simulated node
#   /etc/cardano-tracer/config.yaml               configuration/system.yaml
#   share/cardano-tracer/legacy/*.txt             the legacy nomenclature tables (built in;
#                                                 copies for legacyNamespaces/metricsAliases)
#   share/cardano-tracer/examples/*               the example configurations
#   share/doc/cardano-tracer/*                    README and docs/
#   lib/systemd/system/cardano-tracer.{service,socket}
# Paths are fixed at configure time: configure with -DCMAKE_INSTALL_PREFIX=/usr for the packaged
# layout (/usr/bin, /etc; scripts/package.sh does); the default prefix /usr/local puts the
# configuration in /usr/local/etc and points the units at /usr/local/bin.
include(GNUInstallDirs)
set(ct_docdir ${CMAKE_INSTALL_DATADIR}/doc/cardano-tracer)

install(TARGETS cardano-tracer trace-forwarder RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES configuration/system.yaml
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/cardano-tracer
        RENAME config.yaml)
install(FILES legacy/namespaces.txt legacy/metrics.txt
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cardano-tracer/legacy)
install(FILES configuration/minimal-example.yaml configuration/complete-example.yaml
              configuration/default.yaml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cardano-tracer/examples)
install(FILES README.md DESTINATION ${ct_docdir})
install(DIRECTORY docs/ DESTINATION ${ct_docdir})

# The units name the binary by its installed path.
foreach(unit cardano-tracer.service cardano-tracer.socket)
  file(READ "${PROJECT_SOURCE_DIR}/systemd/${unit}" text)
  string(REPLACE "/usr/bin/cardano-tracer" "${CMAKE_INSTALL_FULL_BINDIR}/cardano-tracer"
         text "${text}")
  string(REPLACE "/etc/cardano-tracer/" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/cardano-tracer/"
         text "${text}")
  file(WRITE "${CMAKE_BINARY_DIR}/systemd/${unit}" "${text}")
  install(FILES "${CMAKE_BINARY_DIR}/systemd/${unit}" DESTINATION lib/systemd/system)
endforeach()

# Debian package: cardano-tracer_<version>_amd64.deb.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cardano-tracer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_CONTACT "cardano-tracer C++ maintainers <maintainers@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Collects Cardano nodes' traces, metrics and data points (C++ cardano-tracer)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "A drop-in replacement for cardano-tracer 0.5.0: nodes forward trace objects, EKG\n metrics and data points over the forwarding protocol; the daemon writes per-node\n log files or the journal and serves Prometheus and EKG metrics.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime dependencies from the binaries' shared libraries (dpkg-shlibdeps), plus adduser for
# the service account.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/postinst;${PROJECT_SOURCE_DIR}/packaging/debian/conffiles")
include(CPack)

# Installation and the Debian package (included from CMakeLists.txt).
#
#   PREFIX/bin/kaohe, kaohe-ingest, kaohe-scorer, kaohe-ranker
#   PREFIX/share/kaohe/catalog.json     the rule catalog; the binaries look
#                                       for it there (KH_INSTALL_DATADIR,
#                                       lib/kh_catalog.c)
#   PREFIX/share/man/man1/kaohe.1.gz
#   PREFIX/lib/systemd/system/          kaohe.target, kaohe-init.service,
#                                       kaohe-scorer.service,
#                                       kaohe-ranker.service,
#                                       kaohe-ingest@.service
#   PREFIX/lib/sysusers.d/kaohe.conf    the kaohe system user
#   KH_CONFDIR/county.json              the example county (/etc/kaohe)
#
# `cpack -G DEB` in the build directory makes kaohe_VERSION_ARCH.deb. The
# package installs under the build's CMAKE_INSTALL_PREFIX, since that is
# where the binaries look for the catalog: configure with
# -DCMAKE_INSTALL_PREFIX=/usr for a package that installs where Debian's
# own do.
include(GNUInstallDirs)

# /etc/kaohe under /usr and /usr/local (the host's configuration, where
# an administrator looks), PREFIX/etc/kaohe (or /etc/opt/...) otherwise.
if(CMAKE_INSTALL_PREFIX MATCHES "^/usr(/local)?/?$")
  set(KH_CONFDIR_DEFAULT /etc/kaohe)
else()
  set(KH_CONFDIR_DEFAULT ${CMAKE_INSTALL_FULL_SYSCONFDIR}/kaohe)
endif()
set(KH_CONFDIR ${KH_CONFDIR_DEFAULT} CACHE PATH
    "Where the example county.json is installed (and the kaohe-init unit reads it)")
set(KH_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
# Relative to the prefix; not CMAKE_INSTALL_LIBDIR, which is multiarch on
# Debian and not where systemd looks.
set(KH_UNITDIR lib/systemd/system)
set(KH_SYSUSERSDIR lib/sysusers.d)

install(TARGETS kaohe kaohe-ingest kaohe-scorer kaohe-ranker
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# share/kaohe, not CMAKE_INSTALL_DATADIR: the path compiled into the
# binaries is ${CMAKE_INSTALL_PREFIX}/share/kaohe whatever that says.
install(FILES rules/catalog.json DESTINATION share/kaohe)

# The units name the installed binaries and configuration.
set(KH_DEPLOY_OUT ${CMAKE_BINARY_DIR}/deploy)
foreach(unit kaohe-init.service kaohe-scorer.service kaohe-ranker.service
             kaohe-ingest@.service)
  configure_file(deploy/${unit}.in ${KH_DEPLOY_OUT}/${unit} @ONLY)
  install(FILES ${KH_DEPLOY_OUT}/${unit} DESTINATION ${KH_UNITDIR})
endforeach()
install(FILES deploy/kaohe.target DESTINATION ${KH_UNITDIR})
install(FILES deploy/kaohe.sysusers DESTINATION ${KH_SYSUSERSDIR} RENAME kaohe.conf)
install(FILES deploy/county.json DESTINATION ${KH_CONFDIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The man page, compressed as Debian has them.
find_program(GZIP gzip REQUIRED)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/docs/kaohe.1.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/docs
  COMMAND ${GZIP} -9n -c ${CMAKE_SOURCE_DIR}/docs/kaohe.1 > ${CMAKE_BINARY_DIR}/docs/kaohe.1.gz
  DEPENDS ${CMAKE_SOURCE_DIR}/docs/kaohe.1
  COMMENT "gzip kaohe.1")
add_custom_target(kaohe_man ALL DEPENDS ${CMAKE_BINARY_DIR}/docs/kaohe.1.gz)
install(FILES ${CMAKE_BINARY_DIR}/docs/kaohe.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The Debian package.
set(KH_SYSUSERS_FILE ${CMAKE_INSTALL_PREFIX}/${KH_SYSUSERSDIR}/kaohe.conf)
foreach(script postinst prerm postrm)
  configure_file(deploy/${script}.in ${KH_DEPLOY_OUT}/debian/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                 GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
file(WRITE ${KH_DEPLOY_OUT}/debian/conffiles "${KH_CONFDIR}/county.json\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kaohe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "kaohe maintainers <root@localhost>" CACHE STRING
    "The Maintainer field of the Debian package")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "live scoring of a county's police stations against its assessment standard")
set(CPACK_PACKAGE_DESCRIPTION
    "kaohe scores a county's police stations incrementally against the county's
written assessment standard, from the events its dispatch center, legal
department, stations and assessors stream; ranks them, explains every
deduction and publishes verifiable month-end scorecards. Services
(kaohe-ingest, kaohe-scorer, kaohe-ranker) run under systemd as the kaohe
user on /var/lib/kaohe; the county is configured in /etc/kaohe/county.json.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  # Debian leaves /usr/local to the administrator: a package there owns
  # directories such as /usr/local/share/man and removes them when purged.
  message(STATUS "kaohe: the Debian package installs under ${CMAKE_INSTALL_PREFIX}; "
                 "configure with -DCMAKE_INSTALL_PREFIX=/usr for one to distribute")
endif()
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_NAME kaohe)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps; the rest: the county's
# time zone is read from the system's zoneinfo, and postinst makes the
# user with systemd-sysusers or, without it, useradd (passwd).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata, passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${KH_DEPLOY_OUT}/debian/conffiles ${KH_DEPLOY_OUT}/debian/postinst
    ${KH_DEPLOY_OUT}/debian/prerm ${KH_DEPLOY_OUT}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

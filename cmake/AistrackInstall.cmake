include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS aistrack EXPORT aistrackTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/aistrack DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# aistrack::net (HTTP tile source of the maps, issue #6; aisstream.io client) is installed into the
# same export set when it is built; consumers then need its dependencies too (aistrackConfig.cmake).
if(TARGET aistrack_net)
  set_target_properties(aistrack_net PROPERTIES EXPORT_NAME net)
  install(TARGETS aistrack_net EXPORT aistrackTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(AISTRACK_WITH_NET ON)
else()
  set(AISTRACK_WITH_NET OFF)
endif()
install(EXPORT aistrackTargets NAMESPACE aistrack:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/aistrack)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/aistrackConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/aistrackConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/aistrack)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/aistrackConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/aistrackConfig.cmake ${PROJECT_BINARY_DIR}/aistrackConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/aistrack)
if(TARGET aistrack-server)
  install(TARGETS aistrack-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

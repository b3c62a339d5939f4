# Installs the library, its public headers, a CMake package (find_package(sluice)) and a
# pkg-config file (sluice.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS sluice EXPORT sluiceTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(SLUICE_BUILD_SHARED)
  # The installed command finds the installed library.
  file(RELATIVE_PATH lib_from_bin "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
  set_target_properties(sluice_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${lib_from_bin}")
endif()
install(TARGETS sluice_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/sluice DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT sluiceTargets NAMESPACE sluice:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)
configure_package_config_file(cmake/sluiceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/sluiceConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sluiceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sluiceConfig.cmake ${PROJECT_BINARY_DIR}/sluiceConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)

# pkg-config: the flags a plain compiler command needs. A static library lists its link
# dependencies in Libs; a shared one in Libs.private.
file(RELATIVE_PATH SLUICE_PC_PREFIX_FROM_PCDIR "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" SLUICE_PC_PREFIX_FROM_PCDIR "${SLUICE_PC_PREFIX_FROM_PCDIR}")
set(SLUICE_PC_CFLAGS "${OpenMP_CXX_FLAGS}")
set(sluice_pc_deps "${OpenMP_CXX_FLAGS}" "-pthread")
if(SLUICE_WITH_CUDA)
  list(APPEND sluice_pc_deps "-L${CUDAToolkit_LIBRARY_DIR}" -lcudart_static -ldl -lrt)
endif()
if(SLUICE_WITH_MPI)
  list(APPEND sluice_pc_deps ${MPI_CXX_LINK_FLAGS} ${MPI_CXX_LIBRARIES})
endif()
if(SLUICE_WITH_NCCL)
  list(APPEND sluice_pc_deps ${SLUICE_NCCL_LIBRARY})
endif()
if(SLUICE_SANITIZE)
  list(APPEND sluice_pc_deps -fsanitize=address,undefined)
endif()
list(JOIN sluice_pc_deps " " sluice_pc_deps)
if(SLUICE_BUILD_SHARED)
  set(SLUICE_PC_LIBS "${OpenMP_CXX_FLAGS}")
  set(SLUICE_PC_LIBS_PRIVATE "${sluice_pc_deps}")
else()
  set(SLUICE_PC_LIBS "${sluice_pc_deps}")
  set(SLUICE_PC_LIBS_PRIVATE "")
endif()
configure_file(cmake/sluice.pc.in ${PROJECT_BINARY_DIR}/sluice.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sluice.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

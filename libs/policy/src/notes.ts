/** Bit 15 of the SUPPORTED_FEATURES bitmap: the kernel reads rsdp_paddr from hvm_start_info. */
export const XENFEAT_LINUX_RSDP_UNRESTRICTED = 15;

/** The part of a kernel's (or bootloader's) Xen ELF notes that RSDP placement depends on. */
export interface RsdpNotes {
  /** GUEST_OS note (6); absent when the image has none. */
  readonly guestOs?: string;
  /** SUPPORTED_FEATURES bitmap note (17), a u32; absent when the image has none. */
  readonly supportedFeatures?: number;
  /** PHYS32_ENTRY note (18) present: the image can boot as a PVH guest. */
  readonly pvh?: boolean;
}

export function hasRsdpUnrestricted(notes: RsdpNotes | null | undefined): boolean {
  const bits = notes?.supportedFeatures;
  return typeof bits === 'number' && ((bits >>> XENFEAT_LINUX_RSDP_UNRESTRICTED) & 1) === 1;
}

/**
 * The libxl rule (Xen 4.11.0+) applied to one ELF image: the RSDP goes low only when the
 * image's GUEST_OS is exactly "linux" (case-sensitive) and its SUPPORTED_FEATURES bitmap
 * lacks bit 15. An image without Xen notes, or without GUEST_OS, gets it high. The
 * FEATURES string note plays no part: bit 15 has no name there.
 */
export function libxlRsdpPlacement(notes: RsdpNotes | null | undefined): 'low' | 'high' {
  if (notes?.guestOs === 'linux' && !hasRsdpUnrestricted(notes)) return 'low';
  return 'high';
}

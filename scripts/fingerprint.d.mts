export function dataFingerprint(root?: string | null): string[];
export function debianPackages(listFile?: string): string[];
export function packageVersions(packages?: string[]): string[];
export function addonFingerprint(addon?: string): string;
export function testFingerprint(): string[];

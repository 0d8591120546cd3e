namespace Pipeline.Models;
internal static class Placeholder { }
